"""Each response counted once, with ccusage's rules for which line of it is kept."""

from __future__ import annotations

import json

import pytest

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


def test_the_snapshot_keeps_the_newest_responses_whole_and_the_older_as_digests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An agent's snapshot holds every followed transcript's dedup and is rewritten at each commit: the older
    responses go in as digests of their message ids, and a restarted agent counts none of their lines again."""
    from otel_claude.transcripts import dedup as dedup_module

    dedup = Dedup()
    count = 512  # the bound: a long session's transcript
    for index in range(count):
        dedup.observe(_call(message_id=f"msg_{index:03d}", output=10))
    saved = json.loads(json.dumps(dedup.to_dict()))
    assert len(saved["entries"]) == dedup_module.FULL_ROWS
    with monkeypatch.context() as patched:
        patched.setattr(dedup_module, "FULL_ROWS", 10**6)
        whole = json.dumps(dedup.to_dict())  # every response whole, as the snapshot held them before
    assert "sealed" not in whole and len(json.dumps(saved)) < len(whole) / 4
    restored = Dedup.from_dict(saved)
    assert len(restored) == count and restored.to_dict() == saved
    newest = count - dedup_module.FULL_ROWS
    assert restored.observe(_call(message_id=f"msg_{newest:03d}", output=99)).outcome is Outcome.REPLACED
    assert restored.observe(_call(message_id=f"msg_{newest - 1:03d}", output=99)).outcome is Outcome.DUPLICATE
    assert restored.observe(_call(message_id="msg_000", request_id="other")).outcome is Outcome.DUPLICATE
    assert restored.observe(_call(message_id="msg_new")).outcome is Outcome.NEW
    # Read again from the start, in a restarted agent: every line of the file is a duplicate.
    again = Dedup.from_dict(saved)
    assert all(again.observe(_call(message_id=f"msg_{i:03d}")).outcome is Outcome.DUPLICATE for i in range(count))


def test_a_restored_dedup_keeps_its_bound_dropping_the_oldest_digests_first() -> None:
    dedup = Dedup(max_messages=100)
    for index in range(100):
        dedup.observe(_call(message_id=f"m{index}"))
    saved = dedup.to_dict()
    restored = Dedup.from_dict(saved, max_messages=80)
    assert len(restored) == 80
    assert restored.observe(_call(message_id="m99", output=99)).outcome is Outcome.REPLACED  # whole rows stay
    assert restored.observe(_call(message_id="m0")).outcome is Outcome.NEW  # the oldest digest went first
    assert restored.observe(_call(message_id="m30")).outcome is Outcome.DUPLICATE
    for index in range(200):
        restored.observe(_call(message_id=f"n{index}"))
    assert len(restored) == 80  # new responses pushed out every digest, oldest first, then the older new ones
    assert restored.observe(_call(message_id="m30")).outcome is Outcome.NEW
    assert restored.observe(_call(message_id="n199")).outcome is Outcome.DUPLICATE


def test_a_version_1_snapshot_and_a_broken_digest_field_still_load() -> None:
    rows = [["a", "req_1", False, "claude-opus-4-6", [5, 10, 0, 0, 0, 0, None, None, None]]]
    assert Dedup.from_dict({"version": 1, "max": 10, "entries": rows}).observe(_call("a")).outcome is Outcome.DUPLICATE
    for broken in ["not base64!", 12, "QUJD"]:  # not base64, not a string, 3 bytes: no whole digest
        restored = Dedup.from_dict({"version": 2, "max": 10, "entries": rows, "sealed": broken})
        assert len(restored) == 1 and restored.observe(_call("b")).outcome is Outcome.NEW
