"""Distribution error codes to supplychain errors with a remedy; Link header parsing."""

from __future__ import annotations

import json

import pytest

from supplychain.errors import (
    AuthError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    RegistryError,
    SupplyChainError,
    UnavailableError,
)
from supplychain.registry.errors import Action, DistributionError, parse_error_body, registry_error
from supplychain.registry.paging import next_link


def body(code: str, message: str = "", detail: object = None) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode()


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("MANIFEST_UNKNOWN", 404, NotFoundError),
        ("BLOB_UNKNOWN", 404, NotFoundError),
        ("NAME_UNKNOWN", 404, NotFoundError),
        ("BLOB_UPLOAD_UNKNOWN", 404, NotFoundError),
        ("UNAUTHORIZED", 401, AuthError),
        ("DENIED", 403, AuthError),
        ("TOOMANYREQUESTS", 429, UnavailableError),
        ("DIGEST_INVALID", 400, IntegrityError),
        ("SIZE_INVALID", 400, IntegrityError),
        ("MANIFEST_INVALID", 400, InvalidInputError),
        ("NAME_INVALID", 400, InvalidInputError),
        ("TAG_INVALID", 400, InvalidInputError),
        ("UNSUPPORTED", 405, RegistryError),
        ("BLOB_UPLOAD_INVALID", 400, RegistryError),
    ],
)
def test_each_code_has_a_class_and_a_hint(code: str, status: int, kind: type[SupplyChainError]) -> None:
    err = registry_error(status, body(code, "said"), what="manifest r/x:1", action=Action.PULL, host="r.test")
    assert type(err) is kind
    assert err.message.startswith("manifest r/x:1: ")
    assert err.hint


def test_the_classic_messages() -> None:
    unauthorized = registry_error(401, body("UNAUTHORIZED", "authentication required"), what="w",
                                  action=Action.PULL, host="r.test")
    assert "unauthorized: authentication required" in unauthorized.message
    assert "supplychain login r.test" in unauthorized.hint
    anonymous = registry_error(401, body("UNAUTHORIZED", "authentication required"), what="w",
                               action=Action.PULL, host="r.test", anonymous=True)
    assert "no basic auth credentials" in anonymous.message
    assert "supplychain login r.test" in anonymous.hint
    blob = registry_error(400, body("BLOB_UNKNOWN", "blob unknown to registry", "sha256:ab"), what="w",
                          action=Action.PUSH_MANIFEST, host="r.test")
    assert "blob unknown to registry" in blob.message and "push the image again" in blob.hint
    denied = registry_error(403, body("DENIED", "requested access to the resource is denied"), what="w",
                            action=Action.PUSH_BLOB, host="r.test")
    assert "push to" in denied.hint


def test_status_fallbacks() -> None:
    assert isinstance(registry_error(503, b"", what="w", action=Action.PULL, host="h"), RegistryError)
    assert "HTTP 503 after retries" in registry_error(503, b"", what="w", action=Action.PULL, host="h").message
    assert isinstance(registry_error(429, b"", what="w", action=Action.PULL, host="h"), UnavailableError)
    assert isinstance(registry_error(404, b"", what="w", action=Action.PULL, host="h"), NotFoundError)
    html = registry_error(502, b"<html><h1>Bad gateway</h1>\n</html>", what="w", action=Action.PULL, host="h")
    assert "<html" not in html.message


@pytest.mark.parametrize(
    "raw",
    [b"", b"null", b"[]", b'{"errors": {}}', b'{"errors": [1, "x", {"code": 5}]}', b"\xff\xfe", b"[" * 100_000],
)
def test_malformed_bodies_parse_to_nothing(raw: bytes) -> None:
    assert parse_error_body(raw) == []


def test_messages_are_one_line_and_bounded() -> None:
    parsed = parse_error_body(body("MANIFEST_INVALID", "line one\nline two\t" + "x" * 500, {"a": "b\nc"}))
    assert parsed == [DistributionError("MANIFEST_INVALID", parsed[0].message, '{"a": "b\\nc"}')]
    assert "\n" not in parsed[0].message and len(parsed[0].message) <= 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('</v2/_catalog?last=b&n=2>; rel="next"', "/v2/_catalog?last=b&n=2"),
        ("</v2/x/tags/list?last=b>; rel=next", "/v2/x/tags/list?last=b"),
        ('<https://a.test/1>; rel="prev", <https://a.test/3>; rel="next"', "https://a.test/3"),
        ('<https://a.test/3>; title="x"; rel="last next"', "https://a.test/3"),
        ('<https://a.test/1>; rel="prev"', None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_next_link(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected
