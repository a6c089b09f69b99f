"""Sigstore's signing services, offline: ``@sigstore/mock``'s Fulcio CA (certificates with an embedded SCT from its
CT log) and timestamp authority behind a real HTTP server (``tests/js/mock-services.js``), one node process per
session (the ``sigstore_services`` fixture of ``tests/integration/conftest.py``), with our ``tlog serve`` as the
Rekor and ``tests/support/oidc.py`` as the OIDC issuer.

``SigstoreServices.write_trust`` writes the trust material the way a user of a private instance gets it: the CA
and TSA chains and the CT log key as PEM files, then ``supplychain trusted-root create`` over them (and the log's
key), and a signing config naming the services (``trust.create.build_signing_config``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.sigstore_js import JS_DIR

REPO = Path(__file__).resolve().parents[2]


@dataclass
class SigstoreServices:
    """The running node process and what it printed: its URL, the CA root, the CT log key, the TSA chain."""

    process: subprocess.Popen[str]
    url: str
    no_sct_url: str
    ca_pem: str
    ctlog_key_pem: str
    tsa_chain_pem: str
    _stdout: IO[str] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, timeout: float = 30, *, tsa_clock_offset: int = 0) -> SigstoreServices:
        """``tsa_clock_offset``: seconds added to now for the TSA's fixed clock (0: the real clock)."""
        process = subprocess.Popen(["node", str(JS_DIR / "mock-services.js"), "0", str(tsa_clock_offset)],
                                   cwd=JS_DIR, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout)
            raise RuntimeError(f"mock-services.js did not start: {process.stderr.read() if process.stderr else ''}")
        info: dict[str, Any] = json.loads(line)
        return cls(process, info["url"], info["noSctUrl"], info["ca"], info["ctlog"]["publicKey"], "".join(info["tsa"]),
                   process.stdout)

    @property
    def fulcio_url(self) -> str:
        return self.url

    @property
    def no_sct_fulcio_url(self) -> str:
        """The same CA without a CT log (a server of its own): certificates without an SCT."""
        return self.no_sct_url

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/api/v1/timestamp"

    def write_trust(self, directory: Path, *, rekor_url: str, rekor_key: Path, oidc_url: str | None = None,
                    tsa: bool = True) -> dict[str, Path]:
        """PEM files of the services' trust material, ``trusted_root.json`` made by ``supplychain trusted-root
        create`` over them, and ``signing_config.json`` naming the services: their paths by name."""
        from supplychain.trust.create import build_signing_config

        directory.mkdir(parents=True, exist_ok=True)
        paths = {"ca": directory / "fulcio-chain.pem", "ctfe": directory / "ctfe.pub",
                 "tsa": directory / "tsa-chain.pem", "root": directory / "trusted_root.json",
                 "signing_config": directory / "signing_config.json"}
        paths["ca"].write_text(self.ca_pem)
        paths["ctfe"].write_text(self.ctlog_key_pem)
        paths["tsa"].write_text(self.tsa_chain_pem)
        argv = [sys.executable, "-m", "supplychain", "trusted-root", "create",
                "--certificate-chain", str(paths["ca"]), "--fulcio-uri", self.fulcio_url,
                "--ctfe-key", str(paths["ctfe"]), "--ctfe-url", f"{self.url}/ct",
                "--rekor-key", str(rekor_key), "--rekor-url", rekor_url, "--out", str(paths["root"])]
        if tsa:
            argv += ["--timestamp-certificate-chain", str(paths["tsa"]), "--timestamp-uri", self.tsa_url]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
        assert done.returncode == 0, done.stderr
        paths["signing_config"].write_bytes(build_signing_config(
            fulcio_url=self.fulcio_url, rekor_urls=[rekor_url], tsa_urls=[self.tsa_url] if tsa else [],
            oidc_url=oidc_url))
        return paths

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self._stdout, self.process.stderr):
            if stream is not None:
                stream.close()
