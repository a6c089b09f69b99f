"""Issue 7, item 2, performed against the real CLI: a *remote* registry (as the client sees it) names a token
realm on this machine by host name, to collect the registry's saved Basic credentials.

A registry that is remote from the client's view cannot listen on loopback, so the test reaches one the way a
user behind a corporate proxy does: ``HTTPS_PROXY`` points at a proxy made in the test, which answers
``CONNECT registry.example.test:443`` itself, terminating TLS with a TEST-ONLY certificate for that name and
playing a hostile registry. The realm it names, ``https://localhost:PORT/token``, is a real token service on
this machine that records every request it gets: the credentials must never arrive there.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from supplychain.cli.main import main
from supplychain.errors import ExitCode
from tests.support import tlsca
from tests.support.tlsca import make_certificates

pytestmark = pytest.mark.integration

REMOTE = "registry.example.test"  # .test never resolves (RFC 6761): only the proxy can reach it
USER, PASSWORD = "alice", "TEST-ONLY-registry-password"


@dataclass
class Seen:
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)


class _TokenService(ThreadingHTTPServer):
    """The realm's target: an HTTPS token service on localhost that records what it is sent."""

    def __init__(self, certificates: tlsca.TestCertificates) -> None:
        self.seen = Seen()
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificates.server_cert, certificates.server_key)
        self.socket = context.wrap_socket(self.socket, server_side=True)


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenService

    def do_GET(self) -> None:  # http.server calls it by this name
        self.server.seen.requests.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"token": "t"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class _Proxy(socketserver.ThreadingTCPServer):
    """A CONNECT proxy: tunnels to 127.0.0.1 for loopback targets; for ``REMOTE`` it is the registry itself."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, certificates: tlsca.TestCertificates, realm: str) -> None:
        self.realm = realm
        self.seen = Seen()  # what the hostile registry was asked
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificates.server_cert, certificates.server_key)
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(request_line) != 3 or request_line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = request_line[1].rpartition(":")
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if host == REMOTE:
            self._play_registry()
        elif host in ("localhost", "127.0.0.1"):
            self._tunnel(int(port))

    def _tunnel(self, port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as upstream:
            ends = [self.request, upstream]
            while True:
                readable, _, _ = select.select(ends, [], [], 10)
                if not readable:
                    return
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.request else self.request).sendall(data)

    def _play_registry(self) -> None:
        with self.server.context.wrap_socket(self.request, server_side=True) as tls:
            reader = tls.makefile("rb")
            while True:
                line = reader.readline().decode("latin-1").split()
                if len(line) != 3:
                    return
                headers = {}
                while (raw := reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                method, path, authorization = line[0], line[1], headers.get("authorization")
                self.server.seen.requests.append((path, authorization))
                # A HEAD answer has no body (RFC 9110 section 9.3.2).
                out: ssl.SSLSocket | _HeadOnly = _HeadOnly(tls) if method == "HEAD" else tls
                if path.startswith("/token"):  # the registry's own token service (the control's realm)
                    self._send(out, 200, json.dumps({"token": "t"}).encode())
                elif authorization == "Bearer t":
                    self._send(out, 404, json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN",
                                                                 "message": "manifest unknown"}]}).encode())
                else:
                    self._send(out, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                               f'Bearer realm="{self.server.realm}",service="{REMOTE}"')

    @staticmethod
    def _send(tls: ssl.SSLSocket | _HeadOnly, status: int, body: bytes, challenge: str | None = None) -> None:
        head = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {len(body)}",
                "Docker-Distribution-API-Version: registry/2.0"]
        if challenge:
            head.append(f"WWW-Authenticate: {challenge}")
        tls.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


class _HeadOnly:
    """Sends a response's head only: what a server answers to HEAD."""

    def __init__(self, tls: ssl.SSLSocket) -> None:
        self.tls = tls

    def sendall(self, data: bytes) -> None:
        head, _, _ = data.partition(b"\r\n\r\n")
        self.tls.sendall(head + b"\r\n\r\n")


def _serve(server: socketserver.BaseServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def certificates(tmp_path: Path) -> tlsca.TestCertificates:
    return make_certificates(tmp_path / "tls", extra_names=(REMOTE,))


@pytest.fixture
def token_service(certificates: tlsca.TestCertificates) -> Iterator[_TokenService]:
    service = _TokenService(certificates)
    thread = _serve(service)
    yield service
    service.shutdown()
    thread.join()
    service.server_close()


def _inspect_through_proxy(certificates: tlsca.TestCertificates, realm: str, tmp_path: Path) -> tuple[int, str, Seen]:
    (tmp_path / "docker").mkdir(exist_ok=True)
    saved = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {REMOTE: {"auth": saved}}}))
    proxy = _Proxy(certificates, realm)
    thread = _serve(proxy)
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    env = {"HTTPS_PROXY": proxy_url, "https_proxy": proxy_url, "NO_PROXY": "", "no_proxy": "",
           "DOCKER_CONFIG": str(tmp_path / "docker"), "SUPPLYCHAIN_RETRIES": "0"}
    try:
        with CliRunner().isolation(env=env) as (out, err, _):
            try:
                main(["inspect", f"{REMOTE}/app:1", "--ca-file", str(certificates.ca_cert)])
            except SystemExit as exit_:
                code = int(exit_.code or 0)
            output = out.getvalue().decode() + err.getvalue().decode()
    finally:
        proxy.shutdown()
        thread.join()
        proxy.server_close()
    return code, output, proxy.seen


def test_a_realm_on_localhost_by_name_gets_no_credentials(certificates: tlsca.TestCertificates,
                                                         token_service: _TokenService, tmp_path: Path):
    realm = f"https://localhost:{token_service.server_address[1]}/token"
    code, output, registry_seen = _inspect_through_proxy(certificates, realm, tmp_path)
    assert code == ExitCode.INTEGRITY, output
    assert f"refusing token realm '{realm}' of {REMOTE}" in output and "loopback" in output
    assert "hint: " in output and "Traceback" not in output
    assert token_service.seen.requests == []  # the realm was never contacted: the credentials stayed home
    assert registry_seen.requests and all(auth is None for _, auth in registry_seen.requests)


def test_control_a_realm_on_the_registrys_own_host_gets_the_credentials(certificates: tlsca.TestCertificates,
                                                                        tmp_path: Path):
    """The benign case: the registry's own token service receives the saved credentials, and the token works."""
    code, output, registry_seen = _inspect_through_proxy(certificates, f"https://{REMOTE}/token", tmp_path)
    assert code == ExitCode.NOT_FOUND, output  # authenticated, then the hostile registry has no such image
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert any(path.startswith("/token") and auth == basic for path, auth in registry_seen.requests)
    assert any(auth == "Bearer t" for _, auth in registry_seen.requests)
