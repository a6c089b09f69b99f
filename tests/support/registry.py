"""Run the real CNCF distribution registry (Debian's ``docker-registry``) as a plain process for tests.

Each ``RegistryProcess`` gets its own storage directory and a free 127.0.0.1 port; variants add htpasswd Basic
auth, TLS with a test CA, or token auth. Nothing is mocked: this is the server users run.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

if TYPE_CHECKING:
    from supplychain.registry.client import RegistryClient

REGISTRY_BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"

# The htpasswd user of the ``auth_registry`` fixture (tests/integration/conftest.py).
TEST_USER = "tester"
TEST_PASSWORD = "TEST-ONLY-password"


PORT_ATTEMPTS = 5

# Clients a test opened with ``closed_after_test``: the integration conftest closes them after each test.
_open_clients: list[RegistryClient] = []


def closed_after_test(client: RegistryClient) -> RegistryClient:
    """``client``, to be closed when the current test ends (``close_test_clients``)."""
    _open_clients.append(client)
    return client


def close_test_clients() -> None:
    while _open_clients:
        _open_clients.pop().close()


class PortInUse(RuntimeError):
    """The server found the port ``free_port()`` gave it already taken."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryProcess:
    """A running registry: ``host`` is ``127.0.0.1:<port>``; ``url`` its base URL."""

    root: Path
    auth: Mapping[str, Any] | None = None
    tls: Mapping[str, str] | None = None  # {"certificate": path, "key": path}
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def config(self) -> dict[str, Any]:
        http: dict[str, Any] = {"addr": self.host, "secret": "test-only-secret"}
        if self.tls:
            http["tls"] = dict(self.tls)
        cfg: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            "http": http,
        }
        if self.auth:
            cfg["auth"] = dict(self.auth)
        return cfg

    def start(self, verify: ssl.SSLContext | bool = False) -> RegistryProcess:
        """Start and wait until ``/v2/`` answers. ``free_port()`` only finds a port that was free a moment ago:
        another process (a pytest-xdist worker) may take it first, so a registry that finds its port in use is
        started again on a new one."""
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                return self._start(verify)
            except PortInUse:
                self.port = free_port()
        return self._start(verify)

    def _start(self, verify: ssl.SSLContext | bool) -> RegistryProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        config_path = self.root / "config.yml"
        config_path.write_text(yaml.safe_dump(self.config()))
        self._log = open(self.root / "registry.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                log = (self.root / "registry.log").read_text()
                if "address already in use" in log:
                    raise PortInUse(log)
                raise RuntimeError(f"registry exited: {log}")
            try:
                httpx.get(f"{self.url}/v2/", verify=verify, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry did not start: {(self.root / 'registry.log').read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def write_htpasswd(path: Path, users: Mapping[str, str]) -> Path:
    """An htpasswd file with bcrypt entries (the only kind distribution accepts), via apache2-utils."""
    path.write_text("")
    for user, password in users.items():
        subprocess.run(["htpasswd", "-Bb", str(path), user, password],
                       check=True, capture_output=True)
    return path


def saved_login(directory: Path, host: str, user: str, password: str) -> dict[str, str | None]:
    """A docker ``config.json`` in ``directory`` holding a Basic login for ``host`` (as ``docker login`` saves it),
    and the environment that points the CLI at it (``DOCKER_CONFIG``)."""
    import base64
    import json

    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory)}
