"""HTTPS_PROXY / HTTP_PROXY / NO_PROXY (issue 8, item 2): loopback registries are never proxied, NO_PROXY is read
with Go's httpproxy rules, and a failing proxy is named as the culprit. A real counting proxy runs in the test."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from supplychain.cli.main import main
from supplychain.config import Settings, load_settings
from supplychain.errors import ExitCode
from supplychain.transport import bypasses_proxy, proxy_for
from tests.support.registry import RegistryProcess, free_port

pytestmark = pytest.mark.integration


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(args: list[str], env: dict[str, str | None], stdin: str | None = None) -> Result:
    base: dict[str, str | None] = {"SUPPLYCHAIN_RETRIES": "0", "HTTPS_PROXY": None, "HTTP_PROXY": None,
                                   "https_proxy": None, "http_proxy": None, "NO_PROXY": None, "no_proxy": None}
    with CliRunner().isolation(input=stdin, env={**base, **env}) as (out, err, _):
        try:
            main(args)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        else:  # pragma: no cover - main always exits
            code = -1
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


class CountingProxy(socketserver.ThreadingTCPServer):
    """A tiny forward proxy on 127.0.0.1: answers ``CONNECT`` and absolute-URI requests with ``status`` (never
    forwards anything), and counts the requests it saw."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, status: int = 502) -> None:
        self.status = status
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: CountingProxy

    def handle(self) -> None:
        line = self.rfile.readline(8192).decode("latin-1").strip()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        self.server.requests.append(line)
        self.wfile.write(f"HTTP/1.1 {self.server.status} Proxy Says No\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n".encode())


@pytest.fixture
def proxy() -> Iterator[CountingProxy]:
    server = CountingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def proxy_env(url: str) -> dict[str, str | None]:
    return {"HTTPS_PROXY": url, "HTTP_PROXY": url, "https_proxy": url, "http_proxy": url}


def test_loopback_registry_is_reached_directly_despite_the_proxy(
    fixture_layout: Path, registry: RegistryProcess, proxy: CountingProxy
):
    target = f"{registry.host}/proxy/direct:1"
    result = run(["copy", f"oci:{fixture_layout}:multi", target], proxy_env(proxy.url))
    assert result.code == 0, result.err
    result = run(["inspect", target], proxy_env(proxy.url))
    assert result.code == 0, result.err
    localhost = run(["inspect", f"localhost:{registry.host.rpartition(':')[2]}/proxy/direct:1"], proxy_env(proxy.url))
    assert localhost.code == 0, localhost.err
    assert proxy.requests == []


def test_a_remote_host_goes_through_the_proxy_and_its_refusal_is_named(proxy: CountingProxy):
    proxy_with_password = proxy.url.replace("http://", "http://alice:TEST-ONLY-secret@")
    result = run(["inspect", "registry.example.invalid:5000/app:1"], proxy_env(proxy_with_password))
    assert result.code == ExitCode.UNAVAILABLE, result.err
    assert proxy.requests == ["CONNECT registry.example.invalid:5000 HTTP/1.1"]
    error, hint = result.err.strip().splitlines()
    assert error.startswith(f"error: the proxy {proxy.url} failed to reach registry.example.invalid:5000")
    assert "502" in error
    assert "TEST-ONLY-secret" not in result.err and "alice" not in result.err
    assert "HTTPS_PROXY" in hint and "NO_PROXY" in hint


def test_a_proxy_asking_for_credentials_is_named(proxy: CountingProxy):
    proxy.status = 407
    result = run(["inspect", "registry.example.invalid/app:1"], proxy_env(proxy.url))
    assert result.code == ExitCode.UNAVAILABLE
    assert result.err.startswith(f"error: the proxy {proxy.url} failed to reach registry.example.invalid")
    assert "407" in result.err


def test_no_proxy_sends_a_remote_host_direct(proxy: CountingProxy):
    # Direct: the made-up name does not resolve, and the error is the registry's, not the proxy's.
    result = run(["inspect", "registry.example.invalid/app:1"],
                 {**proxy_env(proxy.url), "NO_PROXY": ".example.invalid"})
    assert result.code == ExitCode.UNAVAILABLE
    assert proxy.requests == []
    assert "proxy" not in result.err.splitlines()[0]


def test_a_dead_proxy_exits_6_naming_the_proxy():
    dead = f"http://127.0.0.1:{free_port()}"
    result = run(["inspect", "registry.example.invalid/app:1"], proxy_env(dead))
    assert result.code == ExitCode.UNAVAILABLE
    error, hint = result.err.strip().splitlines()
    assert error.startswith(f"error: the proxy {dead} failed to reach registry.example.invalid")
    assert "NO_PROXY" in hint


@pytest.mark.parametrize(("host", "port", "no_proxy", "direct"), [
    ("127.0.0.1", 5000, "", True),
    ("127.8.9.10", 443, "", True),
    ("::1", 5000, "", True),
    ("localhost", 5000, "", True),
    ("LocalHost", 5000, "", True),
    ("registry.localhost", 443, "", True),
    ("registry.example.com", 443, "", False),
    ("10.1.2.3", 443, "", False),
    ("registry.example.com", 443, "*", True),
    ("registry.example.com", 443, " * ", True),
    ("registry.example.com", 443, "example.com", True),
    ("example.com", 443, "example.com", True),
    ("notexample.com", 443, "example.com", False),
    ("registry.example.com", 443, ".example.com", True),
    ("example.com", 443, ".example.com", False),
    ("registry.example.com", 443, "*.example.com", True),
    ("example.com", 443, "*.example.com", False),
    ("Registry.Example.COM", 443, "EXAMPLE.com", True),
    ("registry.example.com", 5000, "registry.example.com:5000", True),
    ("registry.example.com", 443, "registry.example.com:5000", False),
    ("registry.example.com", 443, "other.org, registry.example.com", True),
    ("registry.example.com", 443, ",,other.org,", False),
    ("10.1.2.3", 443, "10.0.0.0/8", True),
    ("11.1.2.3", 443, "10.0.0.0/8", False),
    ("fd00::5", 443, "fd00::/8", True),
    ("10.1.2.3", 443, "10.1.2.3", True),
    ("10.1.2.3", 5000, "10.1.2.3:5000", True),
    ("10.1.2.3", 443, "10.1.2.3:5000", False),
    ("2001:db8::1", 5000, "[2001:db8::1]:5000", True),
    ("registry.example.com", 443, "10.0.0.0/8", False),
])
def test_no_proxy_follows_go_httpproxy(host: str, port: int, no_proxy: str, direct: bool):
    assert bypasses_proxy(host, port, no_proxy) is direct


def test_proxy_selection_by_scheme_and_environment():
    settings = load_settings({"HTTPS_PROXY": "http://secure:3128", "http_proxy": "http://plain:3128",
                              "no_proxy": "internal.example"})
    assert proxy_for(httpx.URL("https://registry.example.com/v2/"), settings) == "http://secure:3128"
    assert proxy_for(httpx.URL("http://registry.example.com/v2/"), settings) == "http://plain:3128"
    assert proxy_for(httpx.URL("https://r.internal.example/v2/"), settings) is None
    assert proxy_for(httpx.URL("https://127.0.0.1:5000/v2/"), settings) is None
    assert proxy_for(httpx.URL("https://[::1]:5000/v2/"), settings) is None
    assert proxy_for(httpx.URL("https://registry.example.com/v2/"), Settings()) is None
    # Upper case wins, as in Go's getEnvAny; the credentials stay out of repr.
    upper = load_settings({"HTTPS_PROXY": "http://u:TEST-ONLY@upper:1", "https_proxy": "http://lower:1"})
    assert upper.https_proxy == "http://u:TEST-ONLY@upper:1"
    assert "TEST-ONLY" not in repr(upper)


def test_a_bad_proxy_url_is_a_configuration_error():
    result = run(["inspect", "registry.example.invalid/app:1"], {"HTTPS_PROXY": "ftp://proxy.example:21"})
    assert result.code == ExitCode.INVALID_INPUT, result.err
    assert "HTTPS_PROXY is not a valid proxy URL" in result.err and "hint:" in result.err


