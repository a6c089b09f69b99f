"""ELF section lookup from bytes (the System V ABI's ELF "Sections" chapter), for the build information Go and
cargo-auditable put in named sections: only the ELF header and the section header table are parsed, every offset
and size checked against the file before it is used.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping

from supplychain.imagefs.view import EntryKind, FileEntry, FileView
from supplychain.limits import MAX_BINARY_BYTES
from supplychain.sbom.catalog import Catalog, over_cap
from supplychain.sbom.package import Package, Problem

ELF_MAGIC = b"\x7fELF"
_SHT_NOBITS = 8  # a section that occupies no file space (.bss)
_MAX_SECTIONS = 65_535  # e_shnum is 16 bits; the extended-count form (e_shnum 0) is refused


class ElfError(ValueError):
    """The bytes are not a well-formed ELF file (or the section asked for does not fit in it)."""


def is_elf(data: bytes) -> bool:
    """Whether ``data`` starts with the ELF magic."""
    return data[:4] == ELF_MAGIC


def section(data: bytes, name: str) -> bytes | None:
    """The contents of the section called ``name``, or ``None`` when there is none."""
    if len(data) < 0x40 or not is_elf(data):
        raise ElfError("not an ELF file")
    klass, encoding = data[4], data[5]
    if klass not in (1, 2) or encoding not in (1, 2):
        raise ElfError(f"unknown ELF class {klass} or data encoding {encoding}")
    order = "<" if encoding == 1 else ">"
    if klass == 2:  # ELF64: e_shoff at 0x28, e_shentsize/e_shnum/e_shstrndx at 0x3a
        (shoff,) = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A)
        header, minimum = order + "IIQQQQ", 0x40
    else:  # ELF32: e_shoff at 0x20, e_shentsize/e_shnum/e_shstrndx at 0x2e
        (shoff,) = struct.unpack_from(order + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x2E)
        header, minimum = order + "IIIIII", 0x28
    if shnum == 0:
        return None
    if shentsize < minimum or shnum > _MAX_SECTIONS or shoff + shentsize * shnum > len(data):
        raise ElfError("the section header table runs past the end of the file")
    headers = []
    for index in range(shnum):
        sh_name, sh_type, _flags, _addr, offset, size = struct.unpack_from(header, data, shoff + index * shentsize)
        headers.append((sh_name, sh_type, offset, size))
    if shstrndx >= shnum:
        raise ElfError("the section name table index is out of range")
    names = _contents(data, headers[shstrndx], ".shstrtab")
    for sh_name, sh_type, offset, size in headers:
        end = names.find(b"\0", sh_name)
        if sh_name < len(names) and end != -1 and names[sh_name:end] == name.encode():
            return b"" if sh_type == _SHT_NOBITS else _contents(data, (sh_name, sh_type, offset, size), name)
    return None


_SHT_PROGBITS, _SHT_STRTAB = 1, 3


def condense(data: bytes, name: str, *, prefilter: bytes,
             also: Callable[[bytes], Mapping[str, bytes]] | None = None) -> bytes | None:
    """What a binary cataloger keeps of an executable it wanted: ``None`` unless ``data`` is an ELF file holding
    ``prefilter`` (a quick byte test before any parsing) and a section ``name``; else a minimal ELF file of
    ``data``'s class and byte order whose sections are ``name`` and those ``also(contents)`` adds (a null section,
    them, a name table: ``section`` reads each back as from the original), so that a scan holds a few KB of a Go
    binary, not all of it. An ELF file that does not parse is kept whole: ``catalog_sections`` reads it again
    and says what is wrong with it."""
    if not is_elf(data) or prefilter not in data:
        return None
    try:
        contents = section(data, name)
    except ElfError:
        return data
    if contents is None:
        return None
    sections = [(name, contents), *(also(contents) if also is not None else {}).items()]
    order = "<" if data[5] == 1 else ">"
    elf64 = data[4] == 2
    header_size, entry_size = (0x40, 0x40) if elf64 else (0x34, 0x28)
    names = b"\0"
    body = b""
    placed = []  # (name offset, file offset, size)
    for section_name, section_contents in sections:
        placed.append((len(names), header_size + len(body), len(section_contents)))
        names += section_name.encode() + b"\0"
        body += section_contents
    placed.append((len(names), header_size + len(body), len(names) + len(b".shstrtab\0")))
    names += b".shstrtab\0"
    table_at = header_size + len(body) + len(names)
    count = len(placed) + 1
    e_type, e_machine = struct.unpack_from(order + "HH", data, 16)
    # e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    layout, entry = (order + "HHIQQQIHHHHHH", order + "IIQQQQIIQQ") if elf64 else (order + "HHIIIIIHHHHHH",
                                                                                      order + "IIIIIIIIII")
    header = struct.pack(layout, e_type, e_machine, 1, 0, 0, table_at, 0, header_size, 0, 0, entry_size, count,
                         count - 1)
    table = bytes(entry_size)  # the null section; then sh_name, sh_type, flags, addr, offset, size, link, info, ...
    for index, (name_at, offset, size) in enumerate(placed):
        kind = _SHT_STRTAB if index == len(placed) - 1 else _SHT_PROGBITS
        table += struct.pack(entry, name_at, kind, 0, 0, offset, size, 0, 0, 1, 0)
    return data[:16] + header + body + names + table


def wants_executable(path: str, size: int, mode: int) -> bool:
    """An executable (any x bit) of a size worth searching: what the binary catalogers keep."""
    return bool(mode & 0o111) and 0 < size <= MAX_BINARY_BYTES


def sections_named(view: FileView, name: str) -> Iterator[tuple[FileEntry, bytes | ElfError]]:
    """Each kept ELF file of ``view`` with a section called ``name``: its contents, or why it could not be read
    (files that are not ELF, and ELF files without the section, are left out)."""
    for entry in view.wanted():
        if entry.data is None or not is_elf(entry.data):
            continue
        try:
            contents = section(entry.data, name)
        except ElfError as exc:
            yield entry, exc
            continue
        if contents is not None:
            yield entry, contents


def catalog_sections(
    view: FileView,
    name: str,
    read: Callable[[FileEntry, bytes], list[Package]],
    *,
    cataloger: str,
    what: str,
    errors: tuple[type[ValueError], ...],
) -> Catalog:
    """A binary cataloger's catalog: ``read`` each kept ELF file's section ``name`` into packages; an ELF file
    that does not parse, or a section ``read`` refuses with one of ``errors``, is a problem naming ``what``, and so
    is an executable too large to search (``wants_executable`` left it to the walk's listing, unread)."""
    packages: list[Package] = []
    problems: list[Problem] = []
    refused: tuple[type[ValueError], ...] = (ElfError, *errors)
    for entry in view.files():
        if entry.kind is EntryKind.FILE and entry.mode & 0o111 and entry.size > MAX_BINARY_BYTES:
            problems.append(over_cap(cataloger, entry, MAX_BINARY_BYTES, limit="limits.MAX_BINARY_BYTES",
                                     what=f"{what} not searched"))
    for entry, contents in sections_named(view, name):
        try:
            if isinstance(contents, ElfError):
                raise contents
            packages += read(entry, contents)
        except refused as exc:
            problems.append(Problem(cataloger, entry.path, f"{what} not read: {exc}"))
    return Catalog(tuple(sorted(packages)), tuple(problems))


def _contents(data: bytes, header: tuple[int, int, int, int], name: str) -> bytes:
    _, _, offset, size = header
    if offset + size > len(data):
        raise ElfError(f"section {name} ({size} bytes at {offset}) runs past the end of the file ({len(data)} bytes)")
    return data[offset:offset + size]


__all__ = ["ELF_MAGIC", "ElfError", "catalog_sections", "is_elf", "section", "sections_named", "wants_executable"]
