"""Registry error responses to supplychain errors with a remedy (OCI distribution spec, "Error Codes").

A registry explains a failure as ``{"errors": [{"code", "message", "detail"}]}``. Each code maps to one class of
the error tree and a hint that says what to do, in the words of the classic troubleshooting tables
("blob unknown to registry": push again; "unauthorized: authentication required": log in). A body that is not
that JSON (a proxy's HTML page, garbage, nothing at all on a HEAD) falls back to the HTTP status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from supplychain.errors import (
    AuthError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    RegistryError,
    SupplyChainError,
    UnavailableError,
)
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

# An error body is small; anything longer is not worth reading.
MAX_ERROR_BODY = 64 * 1024
_MAX_SHOWN = 200


class Action(StrEnum):
    """What the client was doing: the same code calls for another remedy when pulling or pushing."""

    PING = "ping"
    PULL = "pull"
    PUSH_MANIFEST = "push manifest"
    PUSH_BLOB = "push blob"
    DELETE = "delete"
    LIST = "list"


@dataclass(frozen=True, slots=True)
class DistributionError:
    """One entry of a registry's ``errors`` array."""

    code: str
    message: str
    detail: str = ""


def parse_error_body(body: bytes) -> list[DistributionError]:
    """The entries of an error body; an empty list when the body is not the spec's JSON (never raises)."""
    try:
        doc = loads_untrusted(body[:MAX_ERROR_BODY])
    except JsonFormatError:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("errors"), list):
        return []
    out = []
    for entry in doc["errors"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            continue
        message = entry.get("message")
        detail = entry.get("detail")
        out.append(
            DistributionError(
                _one_line(entry["code"]).upper(),
                _one_line(message) if isinstance(message, str) else "",
                _one_line(json.dumps(detail, sort_keys=True)) if detail not in (None, "", {}, []) else "",
            )
        )
    return out


def registry_error(
    status: int,
    body: bytes,
    *,
    what: str,
    action: Action,
    host: str,
    anonymous: bool = False,
) -> SupplyChainError:
    """The error for a registry answer of ``status`` with ``body`` about ``what`` (e.g. ``manifest r/x:1``).

    ``anonymous`` says no credentials were available, which turns a 401 into docker's "no basic auth
    credentials" with the ``supplychain login`` remedy.
    """
    errors = parse_error_body(body)
    if errors:
        return _from_code(errors[0], status, what=what, action=action, host=host, anonymous=anonymous)
    return _from_status(status, body, what=what, action=action, host=host, anonymous=anonymous)


def _from_code(
    err: DistributionError, status: int, *, what: str, action: Action, host: str, anonymous: bool
) -> SupplyChainError:
    said = err.message or err.code.lower().replace("_", " ")
    match err.code:
        case "BLOB_UNKNOWN" | "MANIFEST_BLOB_UNKNOWN" if action is Action.PUSH_MANIFEST:
            return NotFoundError(
                f"{what}: blob unknown to registry{_detail(err)}",
                hint="a layer or config of the manifest is missing: an earlier push was interrupted; "
                "push the image again (blobs first)",
            )
        case "MANIFEST_UNKNOWN":
            return NotFoundError(f"{what}: {said}",
                                 hint="check the tag or digest: it was never pushed here, or was deleted")
        case "BLOB_UNKNOWN" | "MANIFEST_BLOB_UNKNOWN" if action is Action.PULL:
            # We pull a blob only because a manifest (or the user's digest) names it; a registry that serves the
            # manifest but not its blob lost data (storage lost, or garbage-collected while still in use).
            return NotFoundError(
                f"{what}: {said}",
                hint="the registry lost this blob (a manifest it serves still refers to it): push the image again "
                "from a copy that has it, and ask the registry's operator about its storage or garbage collection",
            )
        case "BLOB_UNKNOWN" | "MANIFEST_BLOB_UNKNOWN":
            return NotFoundError(f"{what}: {said}", hint="check the digest and the repository")
        case "BLOB_UPLOAD_UNKNOWN":
            return NotFoundError(f"{what}: {said}",
                                 hint="the upload session expired or was cancelled; push again")
        case "NAME_UNKNOWN":
            return NotFoundError(f"{what}: {said}", hint="check the repository name (and that it was pushed)")
        case "UNAUTHORIZED":
            return _unauthorized(status, said, what=what, host=host, anonymous=anonymous)
        case "DENIED":
            return AuthError(
                f"{what}: denied: {said}",
                hint=f"the account has no {_verb(action)} access to this repository; check its permissions "
                f"or log in as another user with `supplychain login {host}`",
            )
        case "TOOMANYREQUESTS":
            return UnavailableError(
                f"{what}: toomanyrequests: {said}",
                hint="the registry rate-limits you; wait and retry, or log in for a higher limit",
            )
        case "DIGEST_INVALID" | "SIZE_INVALID":
            return IntegrityError(
                f"{what}: {said}{_detail(err)}",
                hint="the registry received other bytes than the digest or size we sent; retry the push",
            )
        case "MANIFEST_INVALID" | "MANIFEST_UNVERIFIED" | "NAME_INVALID" | "TAG_INVALID" | (
            "PAGINATION_NUMBER_INVALID"
        ):
            return InvalidInputError(
                f"{what}: {said}{_detail(err)}",
                hint="the registry refused the request as malformed; check the name, tag and manifest",
            )
        case "UNSUPPORTED":
            return RegistryError(
                f"{what}: the registry does not support this operation ({said})",
                hint="deletion may be disabled on the registry, or the media type is not allowed there"
                if action in (Action.DELETE, Action.PUSH_MANIFEST) else "use another registry or operation",
            )
    return _from_status(status, b"", what=what, action=action, host=host, anonymous=anonymous,
                        said=f"{err.code}: {said}")


def _from_status(
    status: int,
    body: bytes,
    *,
    what: str,
    action: Action,
    host: str,
    anonymous: bool,
    said: str | None = None,
) -> SupplyChainError:
    said = said or _body_snippet(body)
    suffix = f" ({said})" if said else ""
    if status == 401:
        return _unauthorized(status, said or "authentication required", what=what, host=host, anonymous=anonymous)
    if status == 403:
        return AuthError(
            f"{what}: denied: requested access to the resource is denied{suffix}",
            hint=f"check that the account may {_verb(action)} this repository (`supplychain login {host}`)",
        )
    if status == 404:
        return NotFoundError(f"{what}: not found{suffix}", hint="check the registry, repository, tag or digest")
    if status == 429:
        return UnavailableError(
            f"{what}: toomanyrequests: the registry rate-limited us and kept doing so after retries{suffix}",
            hint="wait and retry later, or log in for a higher limit",
        )
    if status >= 500:
        return RegistryError(
            f"{what}: registry {host} failed with HTTP {status} after retries{suffix}",
            hint="the registry has a problem; retry later or ask its operator",
        )
    return RegistryError(
        f"{what}: unexpected HTTP {status} from {host} during {action.value}{suffix}",
        hint="the registry answered outside the distribution spec; retry, or report it with --debug output",
    )


def _unauthorized(status: int, said: str, *, what: str, host: str, anonymous: bool) -> AuthError:
    if anonymous:
        return AuthError(
            f"{what}: no basic auth credentials (HTTP {status})",
            hint=f"log in first: supplychain login {host}",
        )
    return AuthError(
        f"{what}: unauthorized: {said}",
        hint=f"check your credentials with `supplychain login {host}`, and that the account may access "
        "this repository",
    )


def _verb(action: Action) -> str:
    return "push to" if action in (Action.PUSH_BLOB, Action.PUSH_MANIFEST, Action.DELETE) else "pull from"


def _detail(err: DistributionError) -> str:
    return f" ({err.detail})" if err.detail else ""


def _body_snippet(body: bytes) -> str:
    """A short printable excerpt of a non-JSON error body (HTML from a proxy, plain text), or ``""``."""
    text = body[:MAX_ERROR_BODY].decode("utf-8", "replace")
    if "<html" in text.lower():
        return ""
    return _one_line(text)


def _one_line(text: str) -> str:
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= _MAX_SHOWN else line[: _MAX_SHOWN - 3] + "..."
