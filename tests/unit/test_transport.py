"""transport: plain-HTTP policy, TLS context, retries with backoff, the one error mapping, redaction."""

from __future__ import annotations

import base64
import email.utils
import http.server
import logging
import ssl
import threading
from pathlib import Path

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import ConfigurationError, SupplyChainError, TLSError, UnavailableError
from supplychain.transport import (
    RetryPolicy,
    allows_plain_http,
    build_client,
    is_loopback,
    map_transport_error,
    redact_url,
    send,
    split_host,
    ssl_context,
)
from supplychain.transport.retry import is_replayable, parse_retry_after
from tests.support.tlsca import make_certificates

HOST = "registry.test"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3:80", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("registry.test", False),
        ("10.0.0.1:5000", False),
        ("[fe80::1]:5000", False),
        ("localhost.example.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_split_host() -> None:
    assert split_host("[::1]:5000") == ("::1", 5000)
    assert split_host("example.com:443") == ("example.com", 443)
    assert split_host("example.com") == ("example.com", None)


def test_plain_http_only_for_loopback_or_listed_hosts() -> None:
    settings = Settings(insecure_registries=frozenset({"lab.test:5000", "bare.test"}))
    assert allows_plain_http("127.0.0.1:5000", settings)
    assert allows_plain_http("lab.test:5000", settings)
    assert allows_plain_http("bare.test:8443", settings)  # a bare host covers its ports
    assert not allows_plain_http("lab.test:5001", settings)
    assert not allows_plain_http("registry.test", settings)


# -- retry policy ---------------------------------------------------------------------------------


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    top = RetryPolicy(retries=9, backoff_base=0.5, backoff_max=5.0, jitter=lambda: 1.0)
    assert [top.delay(a) for a in range(5)] == [0.5, 1.0, 2.0, 4.0, 5.0]
    half = RetryPolicy(retries=9, backoff_base=0.5, backoff_max=5.0, jitter=lambda: 0.5)
    assert half.delay(2) == 1.0
    assert RetryPolicy(jitter=lambda: 0.0).delay(3) == 0.0


def test_retry_after_seconds_and_http_date_capped() -> None:
    now = 1_700_000_000.0
    policy = RetryPolicy(backoff_max=20.0, clock=lambda: now, jitter=lambda: 1.0)
    assert policy.delay(0, "7") == 7.0
    assert policy.delay(0, "3600") == 20.0  # capped
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert policy.delay(0, date) == pytest.approx(12.0)
    assert policy.delay(0, "soon") == 0.5  # unreadable: ordinary backoff
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0


def _recording_policy(sleeps: list[float], retries: int = 3) -> RetryPolicy:
    return RetryPolicy(retries=retries, backoff_base=0.5, backoff_max=20.0, sleep=sleeps.append,
                       jitter=lambda: 1.0)


def _serve(statuses: list[int | Exception], headers: dict[str, str] | None = None):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = statuses[min(len(seen), len(statuses)) - 1]
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, headers=headers, text=f"answer {len(seen)}")

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_5xx_then_recovery_is_retried() -> None:
    client, seen = _serve([503, 502, 200])
    sleeps: list[float] = []
    response = send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
                    policy=_recording_policy(sleeps))
    assert response.status_code == 200
    assert len(seen) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_forever_is_bounded_and_returns_the_last_answer() -> None:
    client, seen = _serve([503])
    sleeps: list[float] = []
    response = send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
                    policy=_recording_policy(sleeps, retries=4))
    assert response.status_code == 503
    assert len(seen) == 5
    assert len(sleeps) == 4


def test_500_is_not_retried() -> None:
    client, seen = _serve([500, 200])
    response = send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
                    policy=_recording_policy([]))
    assert response.status_code == 500
    assert len(seen) == 1


def test_429_honours_retry_after() -> None:
    client, _ = _serve([429, 429, 200], headers={"Retry-After": "3"})
    sleeps: list[float] = []
    response = send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
                    policy=_recording_policy(sleeps))
    assert response.status_code == 200
    assert sleeps == [3.0, 3.0]


def test_non_replayable_requests_are_not_retried() -> None:
    client, seen = _serve([503, 201])
    patch = client.build_request("PATCH", f"https://{HOST}/v2/r/blobs/uploads/1", content=b"chunk")
    assert not is_replayable(patch)
    assert send(client, patch, auth=None, policy=_recording_policy([])).status_code == 503
    assert len(seen) == 1

    client, seen = _serve([503, 201])
    streamed = client.build_request("PUT", f"https://{HOST}/v2/r/blobs/uploads/1", content=iter([b"a"]))
    assert not is_replayable(streamed)
    assert send(client, streamed, auth=None, policy=_recording_policy([])).status_code == 503
    assert len(seen) == 1


def test_post_marked_replayable_is_retried_with_its_body() -> None:
    client, seen = _serve([503, 202])
    request = client.build_request("POST", f"https://{HOST}/v2/r/blobs/uploads/", content=b"x")
    assert send(client, request, auth=None, policy=_recording_policy([]), replayable=True).status_code == 202
    assert [r.content for r in seen] == [b"x", b"x"]


def test_connection_reset_is_retried() -> None:
    client, seen = _serve([httpx.ReadError("Connection reset by peer"), 200])
    sleeps: list[float] = []
    response = send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
                    policy=_recording_policy(sleeps))
    assert response.status_code == 200
    assert len(seen) == 2 and len(sleeps) == 1


def test_connection_refused_is_not_retried_and_names_the_host() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    client, seen = _serve([refused])
    with pytest.raises(UnavailableError) as info:
        send(client, client.build_request("GET", "https://registry.test:5000/v2/"), auth=None,
             policy=_recording_policy([]))
    assert len(seen) == 1
    assert "connection refused by registry.test:5000" in info.value.message
    assert "registry.test:5000" in info.value.hint


def test_resets_forever_end_in_unavailable() -> None:
    client, seen = _serve([httpx.RemoteProtocolError("Server disconnected without sending a response.")])
    with pytest.raises(UnavailableError, match=r"connection to registry\.test was lost"):
        send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=None,
             policy=_recording_policy([], retries=2))
    assert len(seen) == 3


def test_retries_resend_credentials_through_the_auth_flow() -> None:
    client, seen = _serve([503, 200])
    send(client, client.build_request("GET", f"https://{HOST}/v2/"), auth=httpx.BasicAuth("u", "p"),
         policy=_recording_policy([]))
    expected = "Basic " + base64.b64encode(b"u:p").decode()
    assert [r.headers.get("Authorization") for r in seen] == [expected, expected]


# -- the one error mapping ----------------------------------------------------------------------------


def _cert_error(code: int, message: str) -> httpx.ConnectError:
    cause = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    cause.verify_code = code
    cause.verify_message = message
    exc = httpx.ConnectError(str(cause))
    exc.__cause__ = cause
    return exc


def test_unknown_authority_reads_like_docker_and_names_both_remedies() -> None:
    err = map_transport_error(_cert_error(20, "unable to get local issuer certificate"),
                              host="registry.test:5000", certs_dir=Path("/etc/docker/certs.d"))
    assert isinstance(err, TLSError)
    assert "x509: certificate signed by unknown authority" in err.message
    assert "--ca-file" in err.hint
    assert "/etc/docker/certs.d/registry.test:5000/ca.crt" in err.hint


def test_other_certificate_problems() -> None:
    expired = map_transport_error(_cert_error(10, "certificate has expired"), host=HOST)
    assert "x509: certificate has expired" in expired.message
    wrong_host = map_transport_error(_cert_error(62, "Hostname mismatch"), host=HOST)
    assert "not valid for this host" in wrong_host.message


def test_client_certificate_refused() -> None:
    cause = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
    cause.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    exc = httpx.ReadError("alert")
    exc.__cause__ = cause
    err = map_transport_error(exc, host=HOST, certs_dir=Path("/certs"))
    assert isinstance(err, TLSError)
    assert "client certificate" in err.message
    assert "/certs/registry.test/client.cert" in err.hint


def test_timeouts_and_dns() -> None:
    assert map_transport_error(httpx.ConnectTimeout("t"), host=HOST).message == "timed out connecting to registry.test"
    assert "waiting for an answer" in map_transport_error(httpx.ReadTimeout("t"), host=HOST).message
    dns = httpx.ConnectError("name")
    dns.__cause__ = OSError("wrapped")
    dns.__cause__.__cause__ = __import__("socket").gaierror(-2, "Name or service not known")
    assert "cannot resolve registry.test" in map_transport_error(dns, host=HOST).message


def test_programming_errors_are_not_called_network_errors() -> None:
    err = map_transport_error(httpx.StreamConsumed(), host=HOST)
    assert type(err) is SupplyChainError


# -- TLS context -----------------------------------------------------------------------------------------


def _subjects(context: ssl.SSLContext) -> list[str]:
    return [str(c.get("subject")) for c in context.get_ca_certs()]


def test_ca_file_and_certs_dir_are_trusted(tmp_path: Path) -> None:
    first = make_certificates(tmp_path / "one")
    certs_dir = tmp_path / "certs.d"
    (certs_dir / "registry.test:5000").mkdir(parents=True)
    second = make_certificates(tmp_path / "two")
    (certs_dir / "registry.test:5000" / "ca.crt").write_bytes(second.ca_cert.read_bytes())
    settings = Settings(ca_file=first.ca_cert, certs_dir=certs_dir)
    context = ssl_context(settings, "registry.test:5000", insecure=False)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert sum("TEST-ONLY CA" in s for s in _subjects(context)) == 2
    # Another host's directory is not consulted.
    other = ssl_context(Settings(certs_dir=certs_dir), "registry.test:5001", insecure=False)
    assert not any("TEST-ONLY" in s for s in _subjects(other))


def test_insecure_turns_verification_off() -> None:
    context = ssl_context(Settings(), HOST, insecure=True)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_client_certificate_without_key_is_a_configuration_error(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "ca")
    host_dir = tmp_path / "certs.d" / HOST
    host_dir.mkdir(parents=True)
    (host_dir / "client.cert").write_bytes(certs.server_cert.read_bytes())
    with pytest.raises(ConfigurationError, match=r"no matching key client\.key"):
        ssl_context(Settings(certs_dir=tmp_path / "certs.d"), HOST, insecure=False)
    (host_dir / "client.key").write_bytes(certs.server_key.read_bytes())
    ssl_context(Settings(certs_dir=tmp_path / "certs.d"), HOST, insecure=False)  # loads


def test_unreadable_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="cannot load CA certificates"):
        ssl_context(Settings(ca_file=bad), HOST, insecure=False)


# -- the client ------------------------------------------------------------------------------------------


def test_build_client_policy() -> None:
    client = build_client(Settings(timeout=7.0), HOST, insecure=False)
    assert client.follow_redirects is False
    assert client.timeout.read == 7.0
    assert client.headers["User-Agent"].startswith("supplychain/")


def test_authorization_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "https://storage.test/blob?X-Amz-Signature=sekrit&a=1",
                                            "Set-Cookie": "session=cookie-secret"})

    client = build_client(Settings(), HOST, insecure=False, transport=httpx.MockTransport(handler))
    with caplog.at_level(logging.DEBUG, logger="supplychain.transport"):
        client.get(f"https://{HOST}/v2/", headers={"Authorization": "Bearer top-secret-token"})
    text = caplog.text
    assert "GET https://registry.test/v2/" in text
    assert "top-secret-token" not in text
    assert "cookie-secret" not in text
    assert "'authorization': '***'" in text.lower()


def test_redact_url_hides_signatures() -> None:
    url = httpx.URL("https://user:pw@storage.test/blob?X-Amz-Signature=abc&X-Amz-Credential=def&part=2")
    text = redact_url(url)
    assert "abc" not in text and "def" not in text and "pw" not in text
    assert "part=2" in text


def test_tls_contexts_are_shared_until_a_ca_file_changes(tmp_path: Path) -> None:
    # Loading the system store costs ~18 ms a context; concurrent verification builds many clients.
    from supplychain.transport import ssl_context
    from tests.support.tlsca import make_certificates

    certs = make_certificates(tmp_path / "a")
    settings = Settings(ca_file=certs.ca_cert, certs_dir=tmp_path / "none")
    first = ssl_context(settings, "registry.test:5000", insecure=False)
    assert ssl_context(settings, "registry.test:5000", insecure=False) is first
    assert ssl_context(settings, "registry.test:5000", insecure=True) is not first
    other = make_certificates(tmp_path / "b")
    certs.ca_cert.write_bytes(other.ca_cert.read_bytes() + b"\n")
    assert ssl_context(settings, "registry.test:5000", insecure=False) is not first


def test_clients_read_responses_in_256_kib_pieces() -> None:
    """A blob pull costs httpcore one recv and one h11 buffer round per read: 64 KiB reads (its default) spent
    ~0.35 s of CPU per 200 MiB layer more than 256 KiB reads (bench/copy_image.py)."""
    from httpcore._sync.http11 import HTTP11Connection

    from supplychain.transport.client import READ_BYTES, build_client

    build_client(Settings(), "registry.example", insecure=False).close()
    assert HTTP11Connection.READ_NUM_BYTES >= READ_BYTES == 256 * 1024


def _ok_server(tls: ssl.SSLContext | None) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


def test_plain_http_to_loopback_never_builds_the_tls_context(tmp_path: Path) -> None:
    """Loading the CA store costs ~40 ms: a run that only talks plain HTTP (a CI registry on localhost:5000, a
    local log) skips it. Shown with a CA file that cannot load: plain requests work, and the first HTTPS request
    on the same client is where it is read, and refused."""
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    certs = make_certificates(tmp_path / "certs")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certs.server_cert, certs.server_key)
    plain, plain_host = _ok_server(None)
    secure, secure_host = _ok_server(tls)
    try:
        with build_client(Settings(ca_file=bad, certs_dir=tmp_path / "none"), plain_host, insecure=False) as client:
            assert client.get(f"http://{plain_host}/").text == "ok"
            with pytest.raises(ConfigurationError, match="cannot load CA certificates"):
                client.get(f"https://{secure_host}/")
        # and with a good CA file the same client speaks both, each over its own pool
        good = Settings(ca_file=certs.ca_cert, certs_dir=tmp_path / "none")
        with build_client(good, secure_host, insecure=False) as client:
            assert client.get(f"http://{plain_host}/").text == "ok"
            assert client.get(f"https://{secure_host}/").text == "ok"
    finally:
        for server in (plain, secure):
            server.shutdown()
            server.server_close()
