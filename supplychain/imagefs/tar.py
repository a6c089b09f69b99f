"""A minimal tar header walker over a stream of chunks (issue 12, item 2).

``tarfile`` in ``r|`` mode builds a ``TarInfo`` per entry, keeps every member in a list and copies content through
its own buffers: it walks the test image at ~120 MB/s. This walker reads what a scan needs from each 512-byte
header (name, size, type, link, mode), skips unwanted content by dropping whole chunks (the bytes are never
copied), and joins chunks only for a header or a wanted file's content that straddles two.

Formats (POSIX.1-2001 pax, "ustar Interchange Format" and "pax Header Block"; GNU tar's manual, "Basic Tar
Format"): ustar names with their ``prefix``; GNU ``L``/``K`` long names and link names; pax ``x`` headers (``path``,
``linkpath``, ``size``) for the next entry and ``g`` headers for every later one. As Go's ``archive/tar`` does,
links, directories, devices and FIFOs carry no content whatever their size field says. The stream may end at a
block boundary without the two zero blocks (Go and Python accept that too); anything after the end-of-archive
blocks is read and dropped (a layer's ``diff_id`` covers it). A header whose checksum is wrong, a number that is
not octal or base-256, or a stream that ends inside a header or a content is refused (``LayerFormatError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from supplychain import limits
from supplychain.imagefs.compression import LayerFormatError
from supplychain.imagefs.view import EntryKind

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_KINDS = {
    b"0": EntryKind.FILE, b"\0": EntryKind.FILE, b"7": EntryKind.FILE,
    b"1": EntryKind.HARDLINK, b"2": EntryKind.SYMLINK, b"5": EntryKind.DIRECTORY,
}
_HAS_CONTENT = frozenset([EntryKind.FILE, EntryKind.OTHER])
_NO_CONTENT_TYPES = frozenset([b"1", b"2", b"3", b"4", b"5", b"6"])  # Go's archive/tar: size forced to 0


class TarHeader(NamedTuple):
    """One entry as its headers (with any pax or GNU long-name records) describe it; ``name`` and ``link`` as
    written (not normalised)."""

    name: str
    kind: EntryKind
    size: int
    mode: int
    link: str
    offset: int  # of its header in the uncompressed stream, for messages


def _text(raw: bytes) -> str:
    # Names are bytes on the wire; pax says UTF-8. Undecodable bytes become U+FFFD so that every path is printable
    # and serialisable downstream (a collision that makes is reported as a duplicate entry).
    return raw.decode("utf-8", "replace")


def _cstring(field: bytes) -> bytes:
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def _number(field: bytes, what: str, offset: int) -> int:
    """An octal number (NUL/space padded), or GNU's base-256 form (high bit of the first byte set)."""
    if field and not field[0] & 0x80:
        # The common case first, without a call: digits, then NULs or spaces (int() strips the spaces).
        end = field.find(b"\0")
        digits = field if end < 0 else field[:end]
        if digits.isdigit():
            return int(digits, 8) if b"8" not in digits and b"9" not in digits else _octal(digits, what, offset)
    return _slow_number(field, what, offset)


def _octal(digits: bytes, what: str, offset: int) -> int:
    raise LayerFormatError(f"{what} at offset {offset} is not an octal number: {digits[:16]!r}")


def _slow_number(field: bytes, what: str, offset: int) -> int:
    if field and field[0] & 0x80:
        value = int.from_bytes(field, "big", signed=False) & ~(0x80 << (8 * (len(field) - 1)))
        if field[0] & 0x40:  # negative base-256: never a valid size or mode
            raise LayerFormatError(f"{what} at offset {offset} is negative")
        return value
    digits = _cstring(field).strip()
    if not digits:
        return 0
    try:
        return int(digits, 8)
    except ValueError:
        raise LayerFormatError(f"{what} at offset {offset} is not an octal number: {digits[:16]!r}") from None


class TarWalker:
    """The entries of a tar stream, one pass; ``read()`` the current entry's content, else it is skipped."""

    def __init__(self, chunks: Iterable[bytes], *, what: str,
                 max_header_bytes: int = limits.MAX_TAR_HEADER_BYTES) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._position = 0
        self._consumed = 0  # bytes of the stream before self._buffer
        self._pending = 0  # content and padding of the current entry still to skip
        self._content = 0  # content bytes of the current entry not yet read
        self._what = what
        self._max_header = max_header_bytes

    @property
    def offset(self) -> int:
        """Bytes of the uncompressed stream walked so far."""
        return self._consumed + self._position

    def __iter__(self) -> Iterator[TarHeader]:
        pax_global: dict[str, str] = {}
        pax: dict[str, str] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            # Skipping the last entry's content and taking the next header: inline when the chunk holds both (the
            # common case; ~8,600 headers in the realistic image, and this loop runs on the walk's critical path).
            position = self._position + self._pending
            end = position + BLOCK
            if end <= len(self._buffer):
                offset = self._consumed + position
                block = self._buffer[position:end]
                self._position = end
            else:
                self._skip(self._pending)
                offset = self.offset
                taken = self._take(BLOCK, at_boundary=True)
                if taken is None:
                    return  # a clean end without the end-of-archive blocks
                block = taken
            self._pending = self._content = 0
            if block == _ZERO_BLOCK:
                self._drain()
                return
            self._check(block, offset)
            typeflag = block[156:157]
            size = _number(block[124:136], "an entry's size", offset)
            if typeflag in _NO_CONTENT_TYPES:
                size = 0
            padded = size + (-size % BLOCK)
            if typeflag in (b"x", b"g", b"L", b"K"):
                if size > self._max_header:
                    raise LayerFormatError(
                        f"{self._what}: a {typeflag.decode()!r} header record at offset {offset} is {size} bytes, over "
                        f"the {self._max_header}-byte cap (limits.MAX_TAR_HEADER_BYTES)")
                data = (self._take(size) or b"") if size else b""
                self._skip(padded - size)
                if typeflag == b"x":
                    pax.update(self._pax(data, offset))
                elif typeflag == b"g":
                    pax_global.update(self._pax(data, offset))
                elif typeflag == b"L":
                    long_name = _cstring(data)
                else:
                    long_link = _cstring(data)
                continue
            kind = _KINDS.get(typeflag, EntryKind.OTHER)
            cut = block.find(b"\0", 0, 100)
            raw_name = block[:cut] if cut >= 0 else block[:100]
            if block[345] != 0 and block[257:263] == b"ustar\0":  # POSIX ustar: prefix "/" name
                raw_name = _cstring(block[345:500]) + b"/" + raw_name
            name = _text(long_name) if long_name is not None else raw_name.decode("utf-8", "replace")
            if long_link is not None:
                link = _text(long_link)
            elif kind is EntryKind.SYMLINK or kind is EntryKind.HARDLINK:
                link = _text(_cstring(block[157:257]))
            else:
                link = ""  # only links have a target (ustar's linkname is meaningless on other entries)
            if pax_global or pax:
                fields = {**pax_global, **pax}
                name = fields.get("path", name)
                link = fields.get("linkpath", link)
                if "size" in fields and kind in _HAS_CONTENT:
                    try:
                        size = int(fields["size"])
                    except ValueError:
                        raise LayerFormatError(f"{self._what}: a pax size at offset {offset} is not a number") from None
                    padded = size + (-size % BLOCK)
            if typeflag == b"\0" and name.endswith("/"):
                kind = EntryKind.DIRECTORY  # pre-POSIX tars mark directories by the trailing slash alone
            mode = _number(block[100:108], "an entry's mode", offset) & 0o7777
            pax = {}
            long_name = long_link = None
            self._pending = padded
            self._content = size
            yield TarHeader(name, kind, size, mode, link, offset)

    def read(self) -> bytes:
        """The whole content of the entry just yielded (the caller has checked its size against its caps)."""
        size = self._content
        data = self._take(size) if size else b""
        assert data is not None
        self._pending -= size
        self._content = 0
        return data

    def _check(self, block: bytes, offset: int) -> None:
        stored = _number(block[148:156], "a header checksum", offset)
        # The checksum is the sum of the header's bytes with its own field as spaces (8 * 0x20 = 256).
        computed = sum(block) - sum(block[148:156]) + 256
        if stored != computed:
            signed = sum(b - 256 if b > 127 else b for b in block) - sum(block[148:156]) + 256  # old tars
            if stored != signed:
                raise LayerFormatError(
                    f"{self._what} is not a tar stream: the header at offset {offset} has a wrong checksum")

    def _pax(self, data: bytes, offset: int) -> dict[str, str]:
        """Records ``"%d %s=%s\\n"`` (length counting itself)."""
        fields: dict[str, str] = {}
        position = 0
        while position < len(data):
            if data[position] == 0:
                break  # NUL padding (some writers)
            space = data.find(b" ", position)
            try:
                length = int(data[position:space]) if space > position else 0
            except ValueError:
                length = 0
            record = data[space + 1:position + length] if length > 0 else b""
            if length <= 0 or position + length > len(data) or not record.endswith(b"\n") or b"=" not in record:
                raise LayerFormatError(f"{self._what}: the pax header at offset {offset} has a malformed record")
            key, _, value = record[:-1].partition(b"=")
            fields[_text(key)] = _text(value)
            position += length
        return fields

    def _take(self, count: int, *, at_boundary: bool = False) -> bytes | None:
        """The next ``count`` bytes; ``None`` when the stream ends exactly here and ``at_boundary`` allows it."""
        end = self._position + count
        if end <= len(self._buffer):
            data = self._buffer[self._position:end]
            self._position = end
            return data
        parts = [self._buffer[self._position:]]
        have = len(parts[0])
        self._consumed += len(self._buffer)
        self._buffer, self._position = b"", 0
        while have < count:
            chunk = next(self._chunks, None)
            if chunk is None:
                if have == 0 and at_boundary:
                    return None
                raise LayerFormatError(f"{self._what} is a truncated tar: it ends inside an entry "
                                       f"(at offset {self.offset})")
            need = count - have
            if len(chunk) > need:
                parts.append(chunk[:need])
                self._buffer, self._position = chunk, need
                have = count
            else:
                parts.append(chunk)
                self._consumed += len(chunk)
                have += len(chunk)
        return b"".join(parts)

    def _skip(self, count: int) -> None:
        if count <= 0:
            return
        end = self._position + count
        if end <= len(self._buffer):
            self._position = end
            return
        count = end - len(self._buffer)
        self._consumed += len(self._buffer)
        self._buffer, self._position = b"", 0
        while count > 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise LayerFormatError(f"{self._what} is a truncated tar: it ends inside an entry's content "
                                       f"(at offset {self.offset})")
            if len(chunk) > count:
                self._buffer, self._position = chunk, count
                return
            self._consumed += len(chunk)
            count -= len(chunk)

    def _drain(self) -> None:
        """Read (and drop) whatever follows the end-of-archive blocks: the digest covers it too."""
        self._consumed += len(self._buffer)
        self._buffer, self._position = b"", 0
        for chunk in self._chunks:
            self._consumed += len(chunk)


__all__ = ["BLOCK", "TarHeader", "TarWalker"]
