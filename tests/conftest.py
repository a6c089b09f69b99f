"""Root fixtures shared by unit and integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.fixture import build_fixture_layout


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
