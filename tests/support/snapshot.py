"""Snapshot files: ``compare_snapshot(path, text)`` compares ``text`` with the file at ``path``.

The one switch that regenerates every snapshot (the renderers' in ``tests/unit/report/snapshots/``, the public API
in ``tests/unit/snapshots/``): ``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1 python3 -m pytest ...`` (README, Development). An
environment variable rather than a pytest option, so that it works whichever directory pytest is started from.
Review the diff before committing it: a changed snapshot is a change of documented output or of the public API.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE_ENV = "SUPPLYCHAIN_UPDATE_SNAPSHOTS"


def compare_snapshot(path: Path, text: str, *, tests: str, note: str = "") -> None:
    """Fail unless ``text`` is the content of ``path`` (or, with ``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1``, write it).
    ``tests``: the tests to run to regenerate it, named in the failure; ``note``: what a change means."""
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}: create it with {UPDATE_ENV}=1 python3 -m pytest {tests}")
    expected = path.read_bytes().decode("utf-8")
    if text != expected:
        pytest.fail(f"the output differs from the snapshot {path}:\n--- snapshot\n{expected}\n--- now\n{text}\n"
                    f"If the change is intended, regenerate with {UPDATE_ENV}=1 python3 -m pytest {tests} "
                    f"and review the diff{note}.")
