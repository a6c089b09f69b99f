"""sigstore-js, the independent implementation our bundles, DSSE envelopes and log entries are checked against.

One pinned package set (``tests/js/package.json`` with its ``package-lock.json``: ``@sigstore/verify``,
``@sigstore/bundle``, ``@sigstore/sign``, ``@sigstore/mock``, ``@sigstore/oci``) is installed once, before the tests,
by ``npm ci --prefix tests/js`` (``.ci/run`` runs it); the node scripts the tests run live next to it in
``tests/js/``. Tests never install anything: when the packages are absent, or differ from the lock file, the tests
that need them FAIL (never skip: CI must run them) with the command that installs them.

Tests take the ``sigstore_js`` session fixture (``tests/conftest.py``) and call ``run_node``, or ``sign_bundle`` to
make a bundle with ``@sigstore/sign`` (``tests/js/sign-bundle.js``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from supplychain.keys import KeyPair

JS_DIR = Path(__file__).resolve().parents[1] / "js"
INSTALL_COMMAND = "npm ci --prefix tests/js"


def check_installed(directory: Path = JS_DIR) -> str | None:
    """Why sigstore-js cannot run from ``directory`` (with the command that fixes it), or ``None`` when it can.

    ``npm ci`` copies the lock file's ``packages`` into ``node_modules/.package-lock.json``: the two agree exactly
    when what is installed is what is pinned."""
    if shutil.which("node") is None:
        return "node is not installed: the sigstore-js tests need node and npm (apt-get install nodejs npm)"
    installed = directory / "node_modules" / ".package-lock.json"
    if not installed.is_file():
        return f"sigstore-js is not installed in {directory}: run `{INSTALL_COMMAND}` (bash .ci/run does)"
    locked = json.loads((directory / "package-lock.json").read_text())["packages"]
    locked.pop("", None)  # the project itself, not an installed package
    if json.loads(installed.read_text()).get("packages") != locked:
        return f"sigstore-js in {directory} differs from package-lock.json: run `{INSTALL_COMMAND}` again"
    return None


def run_node(script: str, *args: str | Path, timeout: float = 60, directory: Path = JS_DIR,
             ) -> subprocess.CompletedProcess[str]:
    """``node tests/js/SCRIPT ARGS...`` (its ``require`` resolves the pinned packages); stdout and stderr as text."""
    return subprocess.run(["node", str(directory / script), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=directory, check=False)


def sign_bundle(mode: str, data: Path, key: Path, public_key: Path, log_url: str = "", directory: Path = JS_DIR,
                ) -> dict[str, Any]:
    """A bundle that ``@sigstore/sign`` makes of ``data`` with the PKCS#8 PEM ``key`` (``public_key`` its PKIX PEM):
    ``mode`` is ``message`` or ``dsse`` (logged in ``log_url``) or ``dsse-v02`` (not logged); see
    ``tests/js/sign-bundle.js``. Asserts that sigstore-js made it."""
    done = run_node("sign-bundle.js", mode, data, key, public_key, log_url, directory=directory)
    assert done.stdout, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"], out
    bundle: dict[str, Any] = out["bundle"]
    return bundle


def write_node_key(pair: KeyPair, directory: Path) -> tuple[Path, Path]:
    """``pair`` as the PEM files node's ``crypto`` reads: ``(test-only.key, test-only.pub)``, the private key
    unencrypted PKCS#8, the public key PKIX. TEST-ONLY keys."""
    key, pub = directory / "test-only.key", directory / "test-only.pub"
    key.write_bytes(pair.private_key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    pub.write_bytes(pair.public_key.pem())
    return key, pub
