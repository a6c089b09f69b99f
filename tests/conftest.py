"""Root fixtures shared by unit and integration tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain.tlog.server.embedded import default_log_path
from tests.support.fixture import build_fixture_layout
from tests.support.sigstore_js import JS_DIR, check_installed
from tests.support.tlog import InProcessLog


@pytest.fixture(scope="session", autouse=True)
def _session_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the whole session out of the real user's data directory: ``sign`` with no log flags writes the
    default transparency log in ``$XDG_DATA_HOME/supplychain/tlog``. Session fixtures (registries, logs) run
    under this one; each test gets its own below."""
    real = default_log_path()
    existed = real.exists()
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("xdg-data-session")
        patch.setenv("XDG_DATA_HOME", str(home))
        yield home
    assert existed or not real.exists(), f"the test session created the real user's default log {real}"


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``XDG_DATA_HOME`` for every test (the default transparency log lives under it), inherited by the
    CLI run in-process and by subprocesses; ``data_home / "supplychain" / "tlog"`` is the default log."""
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def fixture_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample images (``fixtures/build_images.py``) built once per session into an OCI layout.

    Shared by every test: read it only. Tests that write use ``fixture_layout_copy``.
    """
    return build_fixture_layout(tmp_path_factory.mktemp("fixture"))


@pytest.fixture
def fixture_layout_copy(fixture_layout: Path, tmp_path: Path) -> Path:
    """A private, writable copy of ``fixture_layout``."""
    target = tmp_path / "fixture-layout"
    shutil.copytree(fixture_layout, target)
    return target


# -- the local transparency log, in-process (unit tests; the real process is tests/integration/conftest.py's) -----


@pytest.fixture
def rekor(tmp_path: Path) -> Iterator[InProcessLog]:
    """A fresh, empty local log served over real HTTP on a free loopback port, in a thread of this process."""
    log = InProcessLog(tmp_path / "log")
    yield log
    log.close()


@pytest.fixture
def other_rekor(tmp_path: Path) -> Iterator[InProcessLog]:
    """A second, unrelated log (its own key and log ID): for evidence that comes from a log nobody trusts."""
    log = InProcessLog(tmp_path / "other")
    yield log
    log.close()


# -- sigstore-js, the independent peer (tests/support/sigstore_js.py) -------------------------------------------


@pytest.fixture(scope="session")
def sigstore_js() -> Path:
    """``tests/js``, where node finds the pinned sigstore-js packages. Installed beforehand by
    ``npm ci --prefix tests/js``; when it is not, the test FAILS (never skips) saying so."""
    problem = check_installed()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return JS_DIR
