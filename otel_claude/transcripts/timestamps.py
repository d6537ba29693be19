"""Transcript timestamps to nanoseconds since the epoch: Claude Code's own shape at the speed of a dict lookup, any
other ISO 8601 time through `datetime.fromisoformat`, with the same result (tests/cost/test_transcript_reader.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# `.mmmZ`, the tail of Claude Code's shape, -> its nanoseconds: one exact lookup checks length, dot, digits and zone.
_MILLIS: dict[str, int] = {f".{ms:03d}Z": ms * 1_000_000 for ms in range(1000)}
_SECONDS: dict[str, int] = {}  # `YYYY-MM-DDTHH:MM:SS` -> ns, filled by the checked path; cleared when full
_MAX_SECONDS = 8192
_MINUTES: dict[str, int] = {}  # `YYYY-MM-DDTHH:MM` -> ns; cleared when full (a cache, not a record)
_MAX_MINUTES = 4096


def parse_timestamp_ns(value: Any) -> int | None:
    """ISO 8601 (`2026-11-23T08:16:42.791Z`) to nanoseconds since the epoch; None when unreadable."""
    if type(value) is not str:
        return None
    # Claude Code's own shape, `YYYY-MM-DDTHH:MM:SS.mmmZ`: a second seen before (the lines of one response share it)
    # and the millisecond tail, two lookups. A prefix only enters _SECONDS once checked below, and a 24-character
    # string's tail is 5 characters, so this returns what the checked path would.
    second = _SECONDS.get(value[:19])
    if second is not None:
        millis = _MILLIS.get(value[19:])
        if millis is not None:
            return second + millis
    return _checked(value)


def _checked(value: str) -> int | None:
    # The minute is parsed once (a transcript's lines share few minutes), seconds and milliseconds are added to it.
    # Anything else takes the general path.
    if len(value) == 24 and value[23] == "Z" and value[19] == "." and value[16] == ":":
        seconds, millis = value[17:19], value[20:23]
        if seconds.isdigit() and millis.isdigit() and seconds.isascii() and millis.isascii() and seconds < "60":
            minute = _MINUTES.get(value[:16])
            if minute is None:
                minute = _minute_ns(value[:16])
            if minute is not None:
                second = minute + int(seconds) * 1_000_000_000
                if len(_SECONDS) >= _MAX_SECONDS:
                    _SECONDS.clear()
                _SECONDS[value[:19]] = second
                return second + int(millis) * 1_000_000
    return parse_iso_ns(value)


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
