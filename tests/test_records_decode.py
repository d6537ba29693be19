"""A record's payload decodes to what json.loads gives (orjson decodes it where that is the same), or is refused for
the same reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_claude.agent.records import BadRecord, decode_record
from otel_claude.handoff import spool
from otel_claude.live.events import parse_hook_input

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _decoded(payload: bytes) -> str:
    try:
        return repr(decode_record(spool.encode(1, payload))[1])
    except BadRecord as exc:
        return f"refused: {exc.reason}"


def _expected(payload: bytes) -> str:
    try:
        return repr(parse_hook_input(json.loads(payload)))
    except Exception as exc:  # the reason is compared by the cases below
        return f"error: {type(exc).__name__}"


@settings(max_examples=300)
@given(value=_VALUES)
def test_any_json_value_decodes_as_json_loads_gives_it(value: Any) -> None:
    payload = json.dumps({"session_id": "s", "hook_event_name": "Notification", "x": value}).encode()
    assert _decoded(payload) == _expected(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"session_id":"s","hook_event_name":"Stop","n":123456789012345678901234567890}',
        b'{"session_id":"s","hook_event_name":"Stop","n":-9223372036854775809}',
        b'{"session_id":"s","hook_event_name":"Stop","n":[NaN,1e999,-Infinity]}',
    ],
)
def test_numbers_the_fast_parser_would_change_are_decoded_by_json(payload: bytes) -> None:
    decoded = decode_record(spool.encode(1, payload))[1]
    assert repr(decoded.extra_fields["n"]) == repr(json.loads(payload)["n"])  # exact ints, not floats


def test_a_lone_surrogate_is_decoded_and_replaced_as_before() -> None:
    payload = b'{"session_id":"s","hook_event_name":"Stop","t":"cut \\ud800"}'
    assert decode_record(spool.encode(1, payload))[1].extra_fields["t"] == "cut \ufffd"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"session_id":"s","hook_event_name":"Stop","t":"\xff"}', "invalid_utf8"),
        (b'{"session_id":"s",', "invalid_json"),
        (b"[" * 5000 + b"]" * 5000, "invalid_json"),
    ],
)
def test_what_json_refuses_is_refused_for_the_same_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(BadRecord) as refused:
        decode_record(spool.encode(1, payload))
    assert refused.value.reason == reason
