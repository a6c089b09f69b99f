"""The one exception tree of supplychain, and the exit codes the CLI maps it to.

Every error a user can meet is a ``SupplyChainError``: a one-line ``message`` saying what is wrong and a
``hint`` saying what to do about it. Third-party exceptions are wrapped where they enter the package
(``raise X(...) from exc``); ``supplychain.cli.main`` is the only place that turns them into output and an
exit status. A denied image is *not* an error: verdicts are values (see ``verify`` and ``policy``).

Standard library only: every other module imports this one.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AuthError",
    "ConfigurationError",
    "DigestMismatchError",
    "ExitCode",
    "IntegrityError",
    "InvalidDigestError",
    "InvalidInputError",
    "InvalidManifestError",
    "InvalidReferenceError",
    "NotFoundError",
    "RegistryError",
    "SizeLimitError",
    "SupplyChainError",
    "TLSError",
    "UnavailableError",
    "UnsafeRequestError",
    "UnsupportedMediaTypeError",
    "VerificationError",
]


class ExitCode(IntEnum):
    """Process exit status, published in the README (keep both in step)."""

    OK = 0
    VERIFICATION_FAILED = 1  # the tool answered, and the answer is "no"
    USAGE = 2  # click's own code for bad options
    INVALID_INPUT = 3  # bad reference, file, manifest, key, policy
    NOT_FOUND = 4  # image, tag, blob or repository does not exist
    AUTH = 5  # authentication failed or access denied
    UNAVAILABLE = 6  # network, TLS, registry or log unavailable
    INTEGRITY = 7  # bytes do not match their digest, a size cap was hit, an unsafe request was refused
    INTERNAL = 70  # a bug: please report it


class SupplyChainError(Exception):
    """Root of every error supplychain raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return self.message


# -- the user gave us something wrong ------------------------------------------------------------


class InvalidInputError(SupplyChainError):
    """Input that cannot be used as given."""

    exit_code = ExitCode.INVALID_INPUT


class InvalidReferenceError(InvalidInputError):
    """A malformed image reference."""

    default_hint = (
        "write it as [registry[:port]/]name[:tag][@sha256:<64 hex>], or oci:PATH[:tag|@digest] for a layout"
    )


class InvalidDigestError(InvalidInputError):
    """A malformed digest string."""

    default_hint = "a digest is <algorithm>:<hex>, e.g. sha256: followed by 64 lowercase hex characters"


class InvalidManifestError(InvalidInputError):
    """A manifest or index that is not valid JSON of a known OCI/Docker media type."""

    default_hint = ("the document breaks the OCI image spec: the tool that wrote it is broken or hostile; push the "
                    "image again with a conforming tool, or report it to its publisher")


class UnsupportedMediaTypeError(InvalidManifestError):
    """A manifest media type supplychain does not handle."""

    default_hint = "supported: OCI image manifest/index v1 and Docker manifest v2 schema 2/list"


class ConfigurationError(InvalidInputError):
    """Bad settings: environment variables, docker config.json, flags that do not fit together."""


# -- it is not there -----------------------------------------------------------------------------


class NotFoundError(SupplyChainError):
    """The named image, tag, blob or repository does not exist."""

    exit_code = ExitCode.NOT_FOUND


# -- who are you ---------------------------------------------------------------------------------


class AuthError(SupplyChainError):
    """Authentication failed, or the credentials lack permission."""

    exit_code = ExitCode.AUTH


# -- we could not reach it -----------------------------------------------------------------------


class UnavailableError(SupplyChainError):
    """A network peer (registry, token service, transparency log) could not answer."""

    exit_code = ExitCode.UNAVAILABLE


class TLSError(UnavailableError):
    """The TLS handshake failed (unknown CA, wrong host name, client certificate refused)."""


class RegistryError(UnavailableError):
    """The registry answered with an error we cannot act on (5xx after retries, unexpected status)."""


# -- the bytes are wrong, or would be unsafe -----------------------------------------------------


class IntegrityError(SupplyChainError):
    """What we received is not what was promised, or is too large to accept."""

    exit_code = ExitCode.INTEGRITY


class DigestMismatchError(IntegrityError):
    """Content whose digest is not the one it was fetched by."""

    default_hint = "the source returned other bytes than it promised; retry, and if it persists report it"

    def __init__(self, expected: str, got: str, *, what: str = "content") -> None:
        super().__init__(f"{what} digest mismatch: expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class SizeLimitError(IntegrityError):
    """Content larger than the cap for its kind."""

    default_hint = "nothing that large is expected here (README, Limits): the source is malformed or hostile"


class UnsafeRequestError(IntegrityError):
    """A request we refuse to make: credentials over plain HTTP, a cross-host redirect, a private token realm."""


# -- the answer is no ----------------------------------------------------------------------------


class VerificationError(SupplyChainError):
    """Verification could not be satisfied (used where a verdict must become an exit status)."""

    exit_code = ExitCode.VERIFICATION_FAILED
