"""Transcript timestamps to nanoseconds since the epoch: Claude Code's own shape at the speed of a dict lookup, any
other ISO 8601 time through `datetime.fromisoformat`, with the same result (tests/cost/test_transcript_reader.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timestamp_ns(value: Any) -> int | None:
    """ISO 8601 (`2026-11-23T08:16:42.791Z`) to nanoseconds since the epoch; None when unreadable."""
    if type(value) is not str:
        return None
    # Claude Code's own shape, `YYYY-MM-DDTHH:MM:SS.mmmZ`: the minute is parsed once (a transcript's lines share
    # few minutes), seconds and milliseconds are added to it. Anything else takes the general path.
    if len(value) == 24 and value[23] == "Z" and value[19] == "." and value[16] == ":":
        seconds, millis = value[17:19], value[20:23]
        if seconds.isdigit() and millis.isdigit() and seconds.isascii() and millis.isascii() and seconds < "60":
            minute = _MINUTES.get(value[:16])
            if minute is None:
                minute = _minute_ns(value[:16])
            if minute is not None:
                return minute + int(seconds) * 1_000_000_000 + int(millis) * 1_000_000
    return parse_iso_ns(value)


_MINUTES: dict[str, int] = {}  # `YYYY-MM-DDTHH:MM` -> ns; cleared when full (a cache, not a record)
_MAX_MINUTES = 4096


def _minute_ns(prefix: str) -> int | None:
    minute = parse_iso_ns(prefix + ":00Z")
    if minute is not None:
        if len(_MINUTES) >= _MAX_MINUTES:
            _MINUTES.clear()
        _MINUTES[prefix] = minute
    return minute


def parse_iso_ns(value: str) -> int | None:
    """Any ISO 8601 time with a zone to nanoseconds since the epoch; None when unreadable or without a zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    # Whole microseconds as integers, so no float rounding shifts a timestamp across a day boundary.
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
