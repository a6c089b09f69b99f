"""Validity windows (protobuf-specs ``sigstore_common.proto`` ``TimeRange``: ``start``, optional ``end``) as Unix
seconds, inclusive at both ends, and how they are shown in messages."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from supplychain.trust.error import TrustedRootError


def parse_time(text: str, what: str, *, start: bool) -> int:
    """Unix seconds of an RFC 3339 time; a fraction rounds inwards (a start up, an end down), so that a window is
    never wider than the root says for the whole-second times it is compared with (integratedTime)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TrustedRootError(f"{what} {text!r} is not an RFC 3339 timestamp") from exc
    if moment.tzinfo is None:
        raise TrustedRootError(f"{what} {text!r} has no time zone")
    seconds = moment.timestamp()
    return math.ceil(seconds) if start else math.floor(seconds)


def format_time(seconds: int) -> str:
    """RFC 3339 UTC, for messages."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(seconds: int | None) -> str:
    return "(open)" if seconds is None else format_time(seconds)


def describe_window(start: int | None, end: int | None) -> str:
    """``<start> .. <end>`` in RFC 3339, ``(open)`` for a missing end, for messages."""
    return f"{_describe(start)} .. {_describe(end)}"


def covers(start: int | None, end: int | None, when: int) -> bool:
    return (start is None or when >= start) and (end is None or when <= end)
