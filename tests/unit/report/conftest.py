"""Snapshot tests of the renderers: ``snapshot(name, text)`` compares ``text`` with ``snapshots/<name>``.

The one switch that regenerates them: ``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/unit/report``
(README, Development; docs/output.md). An environment variable rather than a pytest option, so that it works
whichever directory pytest is started from. Review the diff of ``snapshots/`` before committing it: a changed
JSON snapshot is a change of the documented output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.snapshot import compare_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"

Snapshot = Callable[[str, str], None]


def _compare(name: str, text: str) -> None:
    compare_snapshot(SNAPSHOTS / name, text, tests="tests/unit/report",
                     note=" (JSON snapshots are documented output: docs/output.md)")


@pytest.fixture
def snapshot() -> Snapshot:
    """Compare rendered text with its snapshot file (or, with SUPPLYCHAIN_UPDATE_SNAPSHOTS=1, write it)."""
    return _compare
