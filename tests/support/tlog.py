"""Run the local transparency log for tests: as a real process (``LogProcess``; the ``tlog_server`` session
fixture of ``tests/integration/conftest.py``) or in-process (``InProcessLog``; the ``rekor`` and ``other_rekor``
fixtures of ``tests/conftest.py``, for unit tests that inject faults with ``httpx.MockTransport``).

Signing helpers make TEST-ONLY ECDSA keys and well-formed hashedrekord/dsse proposals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from supplychain.formats.dsse import pae
from supplychain.formats.rekor import DsseProposal, HashedRekord
from supplychain.tlog.client import RekorClient
from supplychain.tlog.server.directory import LogDirectory, init_log_directory
from supplychain.tlog.server.http import RekorHttpServer
from supplychain.tlog.server.log import LocalLog
from supplychain.transport import RetryPolicy
from supplychain.trust.keyring import LogKeyring, public_key_keyring
from tests.support.registry import PORT_ATTEMPTS, PortInUse, free_port

REPO = Path(__file__).resolve().parents[2]


# -- signing (TEST-ONLY keys) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """A TEST-ONLY ECDSA P-256 signing key and its PEM public key."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def hashedrekord(self, artifact: bytes) -> HashedRekord:
        """A hashedrekord proposal: this key's signature over SHA-256(artifact), cosign style (pre-hashed)."""
        digest = hashlib.sha256(artifact).digest()
        signature = self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return HashedRekord("sha256", digest, signature, self.pem)

    def envelope(self, payload: bytes, payload_type: str = "application/vnd.in-toto+json") -> bytes:
        """A DSSE envelope (JSON bytes) over ``payload``, signed with this key."""
        signature = self.key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "payloadType": payload_type,
                "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
            }
        ).encode()

    def dsse(self, payload: bytes) -> DsseProposal:
        return DsseProposal(self.envelope(payload), (self.pem,))


def statement(digest_hex: str, name: str = "artifact") -> bytes:
    """An in-toto Statement v1 about one subject."""
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": digest_hex}}],
            "predicateType": "https://example.test/TEST-ONLY",
            "predicate": {},
        }
    ).encode()


def no_wait_retry(retries: int = 2) -> RetryPolicy:
    """A retry policy that never sleeps (tests count attempts, not seconds)."""
    return RetryPolicy(retries=retries, sleep=lambda _: None, jitter=lambda: 0.0)


# -- in-process log ------------------------------------------------------------------------------------------


class InProcessLog:
    """A ``LocalLog`` served by ``RekorHttpServer`` on a thread, on a free loopback port."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time, **init: Any) -> None:
        self.directory: LogDirectory = init_log_directory(directory, **init)
        self.log = LocalLog(self.directory, clock=clock).start()
        self.server = RekorHttpServer(("127.0.0.1", 0), self.log)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = self.server.url
        self._upstreams: list[httpx.Client] = []

    @property
    def keyring(self) -> LogKeyring:
        return public_key_keyring(self.directory.public_key_pem(), self.url)

    def client(self, *, keyring: LogKeyring | None = None, **options: Any) -> RekorClient:
        """A client talking to this log over real HTTP."""
        return RekorClient(self.url, keyring or self.keyring, client=httpx.Client(timeout=10), **options)

    def faulty_transport(self, fault: Callable[[httpx.Request, httpx.Response], httpx.Response]) -> httpx.MockTransport:
        """A transport whose every answer passes through ``fault(request, real_response)`` (an
        ``httpx.MockTransport`` in front of the real server): for answers a correct server never gives."""
        upstream = httpx.Client(timeout=10)
        self._upstreams.append(upstream)

        def handler(request: httpx.Request) -> httpx.Response:
            real = upstream.request(request.method, request.url, content=request.content, headers=request.headers)
            answer = httpx.Response(real.status_code, headers=real.headers, content=real.content)
            return fault(request, answer)

        return httpx.MockTransport(handler)

    def faulty_client(
        self,
        fault: Callable[[httpx.Request, httpx.Response], httpx.Response],
        *,
        keyring: LogKeyring | None = None,
        **options: Any,
    ) -> RekorClient:
        """A client talking to this log through ``faulty_transport(fault)``."""
        options.setdefault("retry", no_wait_retry())
        client = httpx.Client(transport=self.faulty_transport(fault))
        return RekorClient(self.url, keyring or self.keyring, client=client, **options)

    def close(self) -> None:
        for upstream in self._upstreams:
            upstream.close()
        self.server.shutdown()
        self._thread.join()
        self.server.server_close()
        self.log.close()


# -- the real process ----------------------------------------------------------------------------------------


@dataclass
class LogProcess:
    """``supplychain tlog serve`` running as its own process on ``<host>:<port>`` (``127.0.0.1`` unless given;
    an IPv6 literal such as ``::1`` is put in brackets)."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    key_type: str = "ecdsa-p256"
    host: str = "127.0.0.1"
    _stderr: Any = None

    @property
    def address(self) -> str:
        """``host:port`` as ``--addr`` takes it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def public_key_path(self) -> Path:
        return self.directory / "log.pub"

    @property
    def stderr_path(self) -> Path:
        return self.directory / "serve.log"

    @property
    def keyring(self) -> LogKeyring:
        return public_key_keyring(self.public_key_path.read_bytes(), self.url)

    def client(self, **options: Any) -> RekorClient:
        return RekorClient(self.url, self.keyring, client=httpx.Client(timeout=10), **options)

    def init(self) -> LogProcess:
        """``supplychain tlog init`` through the real CLI."""
        subprocess.run(
            [sys.executable, "-m", "supplychain", "tlog", "init", "--dir", str(self.directory), "--key-type",
             self.key_type],
            check=True, capture_output=True, cwd=REPO,
        )
        return self

    def start(self, *, quiet: bool = False, timeout: float = 20.0) -> LogProcess:
        """Start the server and wait until ``GET /api/v1/log`` answers; a port taken meanwhile by another process
        (a pytest-xdist worker: ``free_port()`` only knows it was free) is replaced by a new one."""
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                return self._start(quiet=quiet, timeout=timeout)
            except PortInUse:
                self.port = free_port()
        return self._start(quiet=quiet, timeout=timeout)

    def _start(self, *, quiet: bool, timeout: float) -> LogProcess:
        self._stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - closed in _reap()
        argv = [sys.executable, "-m", "supplychain", "tlog", "serve", "--dir", str(self.directory),
                "--addr", self.address]
        self.process = subprocess.Popen(
            [*argv, "--quiet"] if quiet else argv,
            stdout=subprocess.DEVNULL, stderr=self._stderr, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reap()
                stderr = self.stderr_path.read_text()
                if "the address is already in use" in stderr:
                    raise PortInUse(stderr)
                raise RuntimeError(f"tlog serve exited: {stderr}")
            try:
                if httpx.get(f"{self.url}/api/v1/log", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"tlog serve did not start: {self.stderr_path.read_text()}")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; return the exit status (SIGKILL if it does not stop in time)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._reap()

    def kill(self) -> int:
        """SIGKILL: the crash the durability tests need."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        return self._reap()

    def _reap(self) -> int:
        assert self.process is not None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return int(self.process.returncode)


def run_serve(directory: Path, addr: str, *, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """``supplychain tlog serve --dir DIRECTORY --addr ADDR`` expected to fail at once: its exit status and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "supplychain", "tlog", "serve", "--dir", str(directory), "--addr", addr, "--quiet"],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
    )

