"""The faster value parsers give what they gave before (tests/cost/reference/old_values.py, commit 8b8ffd7): usage
counts of every shape and timestamps well formed or not, from the caches too."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cost.odd_inputs import RANDOM_USAGE, SHAPED_STAMPS, STAMPS, USAGES
from cost.reference import old_values
from otel_claude.transcripts import timestamps
from otel_claude.transcripts.model import usage_from_json


@settings(max_examples=200)
@given(raw=RANDOM_USAGE | st.sampled_from(USAGES[:-1]))
def test_usage_is_read_as_before(raw: dict[str, Any]) -> None:
    assert usage_from_json(raw) == old_values.usage_from_json(raw)


@settings(max_examples=500)
@given(
    value=st.sampled_from(STAMPS)
    | SHAPED_STAMPS
    | st.text(alphabet="0123456789:-TZ.+ x\u0661", min_size=18, max_size=26)
)
def test_timestamps_are_read_as_before(value: Any) -> None:
    for _ in range(2):  # the second time from the caches
        assert timestamps.parse_timestamp_ns(value) == old_values.parse_timestamp_ns(value)
