"""The oracle for tests/cost/test_reader_equivalence.py: `usage_from_json` and `parse_timestamp_ns` as they were
before the reader's speed work (commit 8b8ffd7), unchanged but for this docstring. Not to be edited to follow the
package: the point is that the package's faster versions give what these gave, on every input."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from otel_claude.transcripts.model import Usage

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


def usage_from_json(raw: Mapping[str, Any]) -> Usage | None:
    """`message.usage` to Usage; None when the required counts are missing (ccusage skips such lines too)."""
    fast = _usage_of_ints(raw)
    if fast is not None:
        return fast
    input_tokens = _count(raw.get("input_tokens"))
    output_tokens = _count(raw.get("output_tokens"))
    if input_tokens is None or output_tokens is None:
        return None
    total_creation = _count(raw.get("cache_creation_input_tokens")) or 0
    split = raw.get("cache_creation")
    if isinstance(split, Mapping):
        five = _count(split.get("ephemeral_5m_input_tokens")) or 0
        hour = _count(split.get("ephemeral_1h_input_tokens")) or 0
        if five + hour == 0 and total_creation > 0:
            # A breakdown of zeros beside a non-zero total: trust the total, priced as 5-minute writes.
            five = total_creation
    else:
        # Without the breakdown (Claude Code before the 1-hour cache), every write was a 5-minute write.
        five, hour = total_creation, 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=_count(raw.get("cache_read_input_tokens")) or 0,
        cache_creation_tokens=five + hour,
        cache_creation_5m_tokens=five,
        cache_creation_1h_tokens=hour,
        speed=_text(raw.get("speed")),
        inference_geo=_text(raw.get("inference_geo")),
        service_tier=_text(raw.get("service_tier")),
    )


def _usage_of_ints(raw: Mapping[str, Any]) -> Usage | None:
    """The usual shape (every count a non-negative int, the 5m/1h split present and adding up), read without the
    general path's per-field checks; None for anything else, which `usage_from_json` then reads field by field."""
    get = raw.get
    input_tokens, output_tokens = get("input_tokens", -1), get("output_tokens", -1)  # missing: refused below
    read, creation = get("cache_read_input_tokens", 0), get("cache_creation_input_tokens", 0)
    split = get("cache_creation")
    if type(split) is not dict:
        return None
    five, hour = split.get("ephemeral_5m_input_tokens", 0), split.get("ephemeral_1h_input_tokens", 0)
    counts = (input_tokens, output_tokens, read, creation, five, hour)
    if any(type(v) is not int or v < 0 for v in counts) or five + hour != creation:
        return None
    speed, geo, tier = get("speed"), get("inference_geo"), get("service_tier")
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=read,
        cache_creation_tokens=creation,
        cache_creation_5m_tokens=five,
        cache_creation_1h_tokens=hour,
        speed=speed if type(speed) is str and speed else None,
        inference_geo=geo if type(geo) is str and geo else None,
        service_tier=tier if type(tier) is str and tier else None,
    )


def _count(value: Any) -> int | None:
    if type(value) is int:  # the usual case, first: backfill decodes a cost-state line per turn
        return value if value > 0 else 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(int(value), 0)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
