"""Snapshot tests of the renderers: ``snapshot(name, text)`` compares ``text`` with ``snapshots/<name>``.

The one switch that regenerates them: ``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/unit/report``
(README, Development; docs/output.md). An environment variable rather than a pytest option, so that it works
whichever directory pytest is started from. Review the diff of ``snapshots/`` before committing it: a changed
JSON snapshot is a change of the documented output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_ENV = "SUPPLYCHAIN_UPDATE_SNAPSHOTS"

Snapshot = Callable[[str, str], None]


def _compare(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}: create it with {UPDATE_ENV}=1 python3 -m pytest tests/unit/report")
    expected = path.read_bytes().decode("utf-8")
    if text != expected:
        pytest.fail(f"rendered output differs from the snapshot {path}:\n--- snapshot\n{expected}\n"
                    f"--- rendered\n{text}\n"
                    f"If the change is intended, regenerate with {UPDATE_ENV}=1 python3 -m pytest tests/unit/report "
                    "and review the diff (JSON snapshots are documented output: docs/output.md).")


@pytest.fixture
def snapshot() -> Snapshot:
    """Compare rendered text with its snapshot file (or, with SUPPLYCHAIN_UPDATE_SNAPSHOTS=1, write it)."""
    return _compare
