"""transport.log: one line per request and per response (or failure), credentials redacted, nothing unless DEBUG."""

from __future__ import annotations

import base64
import logging
import re

import httpx
import pytest

from supplychain.config import Settings
from supplychain.transport import build_client
from supplychain.transport.log import redact_headers, redact_text, redact_url_text

LOGGER = "supplychain.transport"
JWT = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwdXNoZXIiLCJhdWQiOiJyZWdpc3RyeSJ9."
       "MEUCIQDk3yYq2nqZbQJ2L0fKf2mQ2Pz9Jx4")
BASIC = base64.b64encode(b"alice:basic-secret").decode()
SECRETS = ["url-password", "query-access-token", "query-token", "query-password", "form-password", "form-refresh",
           BASIC, "proxy-secret", "cookie-secret", "set-cookie-secret", "location-token", JWT, "opaque-bearer",
           "x-token-secret"]


def test_request_and_response_lines_carry_no_credential(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            headers=[
                ("WWW-Authenticate", 'Bearer realm="https://auth.test/token",service="registry.test"'),
                ("Set-Cookie", "session=set-cookie-secret; HttpOnly"),
                ("Location", "/v2/app/blobs/uploads/1?token=location-token&part=2"),
                ("X-Echo", f"Bearer {JWT}"),
                ("X-Opaque", "Bearer opaque-bearer"),
            ],
            content=b"{}",
        )

    client = build_client(Settings(), "registry.test", insecure=False, transport=httpx.MockTransport(handler))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client.post(
            "https://alice:url-password@registry.test/token?access_token=query-access-token&token=query-token"
            "&password=query-password&scope=repository:app:pull",
            data={"grant_type": "password", "password": "form-password", "refresh_token": "form-refresh"},
            headers={"Authorization": f"Basic {BASIC}", "Proxy-Authorization": "Basic proxy-secret",
                     "Cookie": "session=cookie-secret", "X-Registry-Token": "x-token-secret"},
        )
    lines = [record.getMessage() for record in caplog.records if record.name.startswith(LOGGER)]
    assert len(lines) == 2, lines
    request, response = lines
    assert request.startswith("> POST https://registry.test/token?access_token=***&token=***&password=***&scope=")
    assert " bytes {" in request
    assert response.startswith("< 401 POST https://registry.test/token?access_token=***")
    assert " ms 2 bytes {" in response
    for secret in SECRETS:
        assert secret not in caplog.text, secret
    # What is not a credential stays readable: the challenge, the other query parameters.
    assert 'Bearer realm="https://auth.test/token",service="registry.test"' in response
    assert "&scope=repository:app:pull " in request
    assert "part=2" in response


def test_a_request_without_a_response_gets_a_failure_line(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = build_client(Settings(), "registry.test", insecure=False, transport=httpx.MockTransport(handler))
    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(httpx.ConnectError):
        client.get("https://registry.test/v2/?token=query-token")
    request, failure = (record.getMessage() for record in caplog.records)
    assert request.startswith("> GET https://registry.test/v2/?token=*** 0 bytes {")
    expected = r"< failed GET https://registry\.test/v2/\?token=\*\*\* \d+ ms: ConnectError: connection refused"
    assert re.fullmatch(expected, failure), failure
    assert "query-token" not in caplog.text


def test_nothing_is_logged_below_debug(caplog: pytest.LogCaptureFixture) -> None:
    client = build_client(Settings(), "registry.test", insecure=False,
                          transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        client.get("https://registry.test/v2/")
    assert caplog.records == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def-ghi", "Bearer ***"),
        ("basic YWxpY2U6cHc=", "basic ***"),
        ('Bearer realm="https://auth.test/token",scope="repository:a:pull"',
         'Bearer realm="https://auth.test/token",scope="repository:a:pull"'),
        ('Basic realm="registry"', 'Basic realm="registry"'),
        (f"token {JWT} here", "token *** here"),
    ],
)
def test_redact_text(value: str, expected: str) -> None:
    assert redact_text(value) == expected


def test_redact_url_text_for_relative_and_absolute_locations() -> None:
    assert redact_url_text("/v2/a/blobs/uploads/1?_state=s&token=t") == "/v2/a/blobs/uploads/1?_state=s&token=***"
    assert redact_url_text("https://u:p@storage.test/b?X-Amz-Signature=abc&part=1") == (
        "https://storage.test/b?X-Amz-Signature=***&part=1")


def test_redact_headers_by_name() -> None:
    redacted = redact_headers(httpx.Headers({"Authorization": "Bearer x", "Cookie": "a=b", "Set-Cookie": "c=d",
                                             "Proxy-Authorization": "Basic y", "X-Auth-Token": "z",
                                             "Content-Type": "application/json"}))
    assert redacted == {"authorization": "***", "cookie": "***", "set-cookie": "***", "proxy-authorization": "***",
                        "x-auth-token": "***", "content-type": "application/json"}
