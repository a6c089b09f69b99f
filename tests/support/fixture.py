"""The one way tests reach the repository's ``fixtures/`` directory and its generated sample images."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"

# The sample images' digests (tests/unit/test_fixtures.py checks them). Pinned: a change to the fixture script
# (or to how zlib deflates) changes these. If the change is intended, update them
# here and say so in the commit; every test that relies on the fixture images gets the new ones.
SINGLE_DIGEST = "sha256:6eabd4333ae758a6d38c65356c5ccb9153aba863a7a761cac3f5cdb37deeb576"
MULTI_DIGEST = "sha256:56464d0b6b5e29c9629477fb1d8a8b0b306b377ad2462994dc669e578d7c6280"


def fixture_path(*parts: str) -> Path:
    """A path inside the repository's ``fixtures/`` directory."""
    return FIXTURES_DIR.joinpath(*parts)


@functools.cache
def build_images_module() -> ModuleType:
    """``fixtures/build_images.py``, imported by path (``fixtures/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("supplychain_fixture_build_images", fixture_path("build_images.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_fixture_layout(tmp_dir: str | Path) -> Path:
    """Build the sample images (tags ``single`` and ``multi``) into ``tmp_dir/fixture-layout``; return that path."""
    target = Path(tmp_dir) / "fixture-layout"
    build_images_module().build_layout(target)
    return target
