"""sigstore-js, the independent implementation our bundles, DSSE envelopes and log entries are checked against.

One pinned package set (``tests/js/package.json`` with its ``package-lock.json``: ``@sigstore/verify``,
``@sigstore/bundle``, ``@sigstore/sign``, ``@sigstore/mock``, ``@sigstore/oci``) is installed once, before the tests,
by ``npm ci --prefix tests/js`` (``.ci/run`` runs it); the node scripts the tests run live next to it in
``tests/js/``. Tests never install anything: when the packages are absent, or differ from the lock file, the tests
that need them FAIL (never skip: CI must run them) with the command that installs them.

Tests take the ``sigstore_js`` session fixture (``tests/conftest.py``) and call ``run_node``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

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
