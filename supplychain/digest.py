"""Content digests (OCI image spec, descriptor.md "Digests") and a streaming checker.

A digest is identity: everything below the CLI takes a ``Digest``, and every byte that arrives from a registry
or a layout passes through ``verify_stream`` (or ``Digest.verify``) before anyone trusts it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from supplychain.errors import DigestMismatchError, InvalidDigestError, SizeLimitError

# Registered algorithms (image-spec descriptor.md): lowercase hex of fixed length.
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")
_LOWER_HEX = re.compile(r"[0-9a-f]*")  # one C-level match: a tree of 1,000 referrers parses thousands of digests


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """An ``algorithm:hex`` content digest of a registered algorithm (sha256 or sha512)."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        length = _HEX_LENGTH.get(self.algorithm)
        if length is None:
            raise InvalidDigestError(f"unsupported digest algorithm {self.algorithm!r} (use sha256 or sha512)")
        if len(self.hex) != length or _LOWER_HEX.fullmatch(self.hex) is None:
            raise InvalidDigestError(
                f"invalid {self.algorithm} digest {self.algorithm}:{self.hex!r}: "
                f"want {length} lowercase hex characters"
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<64 hex>`` (or sha512); raise ``InvalidDigestError`` on anything else."""
        match = _DIGEST_RE.match(text)
        if match is None:
            raise InvalidDigestError(f"invalid digest {text!r}")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def verify(self, data: bytes, *, what: str = "content") -> bytes:
        """Return ``data`` if it hashes to this digest, else raise ``DigestMismatchError``."""
        got = hashlib.new(self.algorithm, data).hexdigest()
        if got != self.hex:
            raise DigestMismatchError(str(self), f"{self.algorithm}:{got}", what=what)
        return data

    @property
    def tag_form(self) -> str:
        """``sha256-<hex>``: the referrers fallback tag and the stem of cosign's ``.sig/.att/.sbom`` tags."""
        return f"{self.algorithm}-{self.hex}"

    @property
    def short(self) -> str:
        """``sha256:abcdef012345``, for humans."""
        return f"{self.algorithm}:{self.hex[:12]}"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def verify_stream(
    chunks: Iterable[bytes],
    expected: Digest,
    *,
    size: int | None = None,
    limit: int | None = None,
    what: str = "blob",
) -> CheckedStream:
    """Yield ``chunks`` while hashing them; raise at the end if the digest or size is wrong.

    The mismatch is raised *before* the generator finishes, so a consumer that commits only after
    exhausting it (temp file + rename, or a PUT it then confirms) never commits wrong bytes. ``size`` is the
    size the descriptor promised (more or fewer bytes is an error); ``limit`` caps what we accept at all.

    ``chunks`` that are already a ``CheckedStream`` of the same digest and size, not yet started, are returned
    as they are: that stream raises before its end just the same, so every byte is hashed once, not once by the
    store it comes from and again by the store it goes to (``transfer`` hands one store's stream to another).
    """
    if isinstance(chunks, CheckedStream) and chunks.checks(expected, size):
        return chunks
    return CheckedStream(chunks, expected, size=size, limit=limit, what=what)


class CheckedStream(Iterator[bytes]):
    """The iterator ``verify_stream`` returns: the chunks, hashed as they pass, with the check before the end.

    ``watch`` adds a callback that sees the length of each chunk after it is hashed and before it is handed on
    (``transfer`` counts progress, and stops a cancelled copy, with it); a callback that raises ends the stream
    with that error, as a failing source would."""

    __slots__ = (
        "_cap",
        "_chunks",
        "_done",
        "_hasher",
        "_limit",
        "_seen",
        "_size",
        "_started",
        "_watchers",
        "_what",
        "expected",
    )

    def __init__(
        self, chunks: Iterable[bytes], expected: Digest, *, size: int | None, limit: int | None, what: str
    ) -> None:
        self._chunks = iter(chunks)
        self._hasher = expected.hasher()
        self._seen = 0
        self._size = size
        self._limit = limit
        self._cap = size if size is not None else limit
        self._what = what
        self._watchers: list[Callable[[int], None]] = []
        self._done = False
        self._started = False
        self.expected = expected

    @property
    def started(self) -> bool:
        """Whether any chunk has been asked for."""
        return self._started

    def checks(self, expected: Digest, size: int | None) -> bool:
        """Whether this stream, not yet started, checks all of ``expected`` at exactly ``size`` bytes."""
        return not self.started and size is not None and self._size == size and self.expected == expected

    def watch(self, callback: Callable[[int], None]) -> CheckedStream:
        """Call ``callback(len(chunk))`` for every chunk from now on; the stream itself, for chaining."""
        self._watchers.append(callback)
        return self

    def __iter__(self) -> CheckedStream:
        return self

    def __next__(self) -> bytes:
        self._started = True
        if self._done:
            raise StopIteration
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            self._finish()
            raise
        self._seen += len(chunk)
        if self._cap is not None and self._seen > self._cap:
            self._done = True
            if self._size is not None:
                raise DigestMismatchError(str(self.expected), f"more than the {self._size} bytes promised",
                                          what=self._what)
            raise SizeLimitError(
                f"{self._what} {self.expected.short} is larger than the {self._limit}-byte limit",
                hint="raise the limit (SUPPLYCHAIN_MAX_BLOB_SIZE) only if you trust the source",
            )
        self._hasher.update(chunk)
        for watcher in self._watchers:
            watcher(len(chunk))
        return chunk

    def _finish(self) -> None:
        if self._size is not None and self._seen != self._size:
            raise DigestMismatchError(str(self.expected), f"{self._seen} bytes instead of {self._size}",
                                      what=self._what)
        got = self._hasher.hexdigest()
        if got != self.expected.hex:
            raise DigestMismatchError(str(self.expected), f"{self.expected.algorithm}:{got}", what=self._what)

    def close(self) -> None:
        """Close the underlying chunks (a generator's ``finally`` runs), as closing a generator would."""
        self._done = self._started = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
