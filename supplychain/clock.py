"""The one clock: what time-dependent code is given, so tests pass a fixed time instead of patching ``datetime``.

A ``Clock`` returns an aware UTC ``datetime``; ``utc_now`` is the default everywhere (signing stamps, certificate
and log-key validity windows, verification times).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
