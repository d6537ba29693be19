"""Each response counted once, with ccusage's rules for which line of it is kept."""

from __future__ import annotations

import json

from otel_claude.transcripts.dedup import Dedup, Outcome
from otel_claude.transcripts.model import LlmCall, Usage


def _call(
    message_id: str | None = "msg_1",
    request_id: str | None = "req_1",
    output: int = 10,
    sidechain: bool = False,
    speed: str | None = None,
) -> LlmCall:
    return LlmCall(
        session_id="s",
        model="claude-opus-4-6",
        usage=Usage(input_tokens=5, output_tokens=output, speed=speed),
        timestamp_ns=1,
        start_ns=1,
        message_id=message_id,
        request_id=request_id,
        is_sidechain=sidechain,
    )


def test_repeated_line_is_a_duplicate() -> None:
    dedup = Dedup()
    assert dedup.observe(_call()).outcome is Outcome.NEW
    assert dedup.observe(_call()).outcome is Outcome.DUPLICATE


def test_line_with_larger_usage_replaces_and_reports_what_was_counted() -> None:
    dedup = Dedup()
    dedup.observe(_call(output=1))  # a streaming placeholder (Claude Code before 2.1.97)
    seen = dedup.observe(_call(output=50))
    assert seen.outcome is Outcome.REPLACED and seen.previous is not None and seen.previous.output_tokens == 1
    assert dedup.observe(_call(output=20)).outcome is Outcome.DUPLICATE  # smaller than the kept one


def test_equal_totals_prefer_the_line_with_speed() -> None:
    dedup = Dedup()
    dedup.observe(_call())
    assert dedup.observe(_call(speed="standard")).outcome is Outcome.REPLACED
    assert dedup.observe(_call(speed="standard")).outcome is Outcome.DUPLICATE


def test_non_sidechain_line_wins_over_sidechain_replay() -> None:
    dedup = Dedup()
    dedup.observe(_call(request_id="req_btw", sidechain=True, output=99))
    seen = dedup.observe(_call(request_id="req_main", output=10))  # same message id, other request id
    assert seen.outcome is Outcome.REPLACED
    # a later sidechain replay of the same message under yet another request id is the same response
    assert dedup.observe(_call(request_id="req_btw2", sidechain=True, output=500)).outcome is Outcome.DUPLICATE


def test_same_message_other_request_both_main_chain_are_two_responses() -> None:
    dedup = Dedup()
    assert dedup.observe(_call(request_id="a")).outcome is Outcome.NEW
    assert dedup.observe(_call(request_id="b")).outcome is Outcome.NEW


def test_lines_without_message_id_are_never_deduplicated() -> None:
    dedup = Dedup()
    assert dedup.observe(_call(message_id=None)).outcome is Outcome.NEW
    assert dedup.observe(_call(message_id=None)).outcome is Outcome.NEW
    assert len(dedup) == 0


def test_memory_is_bounded_oldest_forgotten() -> None:
    dedup = Dedup(max_messages=3)
    for i in range(5):
        dedup.observe(_call(message_id=f"m{i}"))
    assert len(dedup) == 3
    assert dedup.observe(_call(message_id="m4")).outcome is Outcome.DUPLICATE
    assert dedup.observe(_call(message_id="m0")).outcome is Outcome.NEW


def test_state_round_trips_through_json() -> None:
    dedup = Dedup(max_messages=10)
    dedup.observe(_call(message_id="a", output=3, speed="fast"))
    dedup.observe(_call(message_id="b", sidechain=True))
    restored = Dedup.from_dict(json.loads(json.dumps(dedup.to_dict())))
    assert restored.to_dict() == dedup.to_dict()
    assert restored.observe(_call(message_id="a", output=3, speed="fast")).outcome is Outcome.DUPLICATE
    assert restored.observe(_call(message_id="a", output=4)).outcome is Outcome.REPLACED


def test_unreadable_state_starts_empty() -> None:
    assert len(Dedup.from_dict({"version": 99, "entries": [["x"]]})) == 0
    assert len(Dedup.from_dict({"version": 1, "entries": [["only", "two"]]})) == 0
    assert len(Dedup.from_dict(None)) == 0
