"""Content digests (OCI image spec, descriptor.md "Digests") and a streaming checker.

A digest is identity: everything below the CLI takes a ``Digest``, and every byte that arrives from a registry
or a layout passes through ``verify_stream`` (or ``Digest.verify``) before anyone trusts it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
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
) -> Iterator[bytes]:
    """Yield ``chunks`` while hashing them; raise at the end if the digest or size is wrong.

    The mismatch is raised *before* the generator finishes, so a consumer that commits only after
    exhausting it (temp file + rename, or a PUT it then confirms) never commits wrong bytes. ``size`` is the
    size the descriptor promised (more or fewer bytes is an error); ``limit`` caps what we accept at all.
    """
    hasher = expected.hasher()
    seen = 0
    cap = size if size is not None else limit
    for chunk in chunks:
        seen += len(chunk)
        if cap is not None and seen > cap:
            if size is not None:
                raise DigestMismatchError(str(expected), f"more than the {size} bytes promised", what=what)
            raise SizeLimitError(
                f"{what} {expected.short} is larger than the {limit}-byte limit",
                hint="raise the limit (SUPPLYCHAIN_MAX_BLOB_SIZE) only if you trust the source",
            )
        hasher.update(chunk)
        yield chunk
    if size is not None and seen != size:
        raise DigestMismatchError(str(expected), f"{seen} bytes instead of {size}", what=what)
    got = hasher.hexdigest()
    if got != expected.hex:
        raise DigestMismatchError(str(expected), f"{expected.algorithm}:{got}", what=what)
