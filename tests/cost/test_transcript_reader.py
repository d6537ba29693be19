"""The incremental reader: only new lines, every awkward file state, bounded work."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cost.support import FIXTURES, MAIN_TRANSCRIPT
from cost.transcript_gen import SessionWriter, usage
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.model import ApiError
from otel_claude.transcripts.reader import Cursor, read_all_new, read_new

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _session(n_responses: int = 3, prompt_id: str = "prompt-1") -> SessionWriter:
    session = SessionWriter("sess-0001")
    session.prompt(prompt_id, T0)
    for i in range(n_responses):
        session.response("claude-opus-4-6", T0 + timedelta(seconds=i + 1), usage(10 + i, 20, 300, 0, 40), blocks=2)
    return session


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def test_fixture_main_transcript_yields_each_response_once_with_its_turn() -> None:
    result = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT)), Dedup())
    assert len(result.calls) == 7  # 10 assistant lines, 3 responses written twice
    assert {c.prompt_id for c in result.calls} == {"885d4206-7a06-45db-9c35-f3203cd23b09"}
    first = result.calls[0]
    assert (first.model, first.usage.input_tokens, first.usage.cache_creation_1h_tokens) == (
        "claude-opus-5-5",
        2496,
        9668,
    )
    assert first.timestamp_ns - first.start_ns == 6_000_000  # api-request at .785, response line at .791
    assert result.skipped_lines == 1  # the fixture holds one broken line
    assert [round(s.total_cost_usd, 7) for s in result.cost_states] == [0.1976676, 0.2098892]
    assert result.remaining_bytes == 0


def test_subagent_transcript_calls_carry_agent_id_and_sidechain() -> None:
    path = MAIN_TRANSCRIPT.with_suffix("") / "subagents" / "agent-ae0930d159505e5e8.jsonl"
    calls = read_all_new(Cursor(path=str(path)), Dedup()).calls
    assert len(calls) == 2
    assert all(c.agent_id == "ae0930d159505e5e8" and c.is_sidechain for c in calls)


def test_only_new_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    session = _session(2)
    path.write_text(session.text())
    dedup = Dedup()
    first = read_new(Cursor(path=str(path)), dedup)
    assert len(first.calls) == 2
    again = read_new(first.cursor, dedup)
    assert again.calls == [] and not again.progressed
    more = SessionWriter("sess-0001")
    more._n = 100
    more.response("claude-opus-4-6", T0 + timedelta(minutes=1), usage(5, 5), blocks=1)
    _append(path, more.text())
    third = read_new(again.cursor, dedup)
    assert [c.usage.input_tokens for c in third.calls] == [5]
    assert third.calls[0].prompt_id == "prompt-1"  # the turn's prompt id survives across reads in the cursor


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    text = _session(1).text()
    last_start = text.rstrip("\n").rfind("\n") + 1
    path.write_text(text[: last_start + 50])  # the response line cut in the middle
    first = read_new(Cursor(path=str(path)))
    assert len(first.calls) == 1  # the first block of the response; the second is still being written
    assert first.cursor.offset == len(text[:last_start].encode())
    assert first.remaining_bytes == 50
    _append(path, text[last_start + 50 :])
    second = read_new(first.cursor)
    assert len(second.calls) == 1


def test_cursor_survives_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_session(1).text())
    cursor = read_new(Cursor(path=str(path))).cursor
    restored = Cursor.from_dict(json.loads(json.dumps(cursor.to_dict())))
    assert restored == cursor
    assert read_new(restored).calls == []


def test_truncated_file_is_read_again_and_dedup_prevents_double_counting(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_session(3).text())
    dedup = Dedup()
    first = read_new(Cursor(path=str(path)), dedup)
    assert len(first.calls) == 3
    path.write_text(_session(1).text())  # shorter than the offset
    second = read_new(first.cursor, dedup)
    assert second.reset == "truncated"
    assert second.calls == []  # the one response was counted already


def test_rotated_file_is_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_session(1).text())
    first = read_new(Cursor(path=str(path)))
    other = tmp_path / "new.jsonl"
    other.write_text(_session(2, prompt_id="p2").text().replace("sess-0001", "sess-0002"))
    os.replace(other, path)
    second = read_new(first.cursor, Dedup())
    assert second.reset == "rotated"
    assert len(second.calls) == 2 and second.calls[0].prompt_id == "p2"


def test_rewritten_file_of_same_size_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    text = _session(2).text()
    path.write_text(text)
    first = read_new(Cursor(path=str(path)))
    with open(path, "r+", encoding="utf-8") as handle:  # same inode, same size, other bytes before the offset
        handle.write(text.replace("sess-0001", "sess-9999"))
    second = read_new(first.cursor)
    assert second.reset == "rewritten"
    assert {c.session_id for c in second.calls} == {"sess-9999"}


def test_missing_file_changes_nothing(tmp_path: Path) -> None:
    cursor = Cursor(path=str(tmp_path / "nope.jsonl"))
    result = read_new(cursor)
    assert result.missing and result.cursor == cursor and result.calls == []


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "directory"])
def test_non_regular_files_are_refused(tmp_path: Path, kind: str) -> None:
    if kind == "dev_zero":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    result = read_all_new(Cursor(path=path))
    assert result.error is not None and result.calls == [] and result.cursor.offset == 0


def test_garbage_and_empty_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    session = _session(1)
    session.raw("")
    session.raw("   ")
    session.raw("not json at all")
    session.raw('{"type":"assistant","message":{"usage":{broken')
    session.raw("[1,2,3]")
    session.raw('{"type":"assistant","message":{"id":"m","model":"claude-opus-4-6","usage":{"output_tokens":3}}}')
    path.write_text(session.text().replace("\n", "\r\n", 1))  # one CRLF line too
    result = read_all_new(Cursor(path=str(path)), Dedup())
    assert len(result.calls) == 1  # the line without input_tokens is no usable response either
    assert result.skipped_lines == 3  # "not json at all", the broken usage line, and a JSON array


def test_reads_are_bounded_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    session = _session(40)
    path.write_text(session.text())
    first = read_new(Cursor(path=str(path)), max_bytes=4096)
    assert first.cursor.offset <= 4096 and first.remaining_bytes > 0
    rest = read_all_new(first.cursor)
    assert len(first.calls) + len(rest.calls) == 80  # no dedup: 2 lines per response
    assert rest.remaining_bytes == 0


def test_over_long_line_is_skipped_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    session = _session(1)
    session.tool_result("prompt-1", T0, 300_000)
    later = SessionWriter("sess-0001")
    later._n = 50
    later.response("claude-haiku-4-5", T0 + timedelta(minutes=2), usage(7, 7), blocks=1)
    path.write_text(session.text() + later.text())
    result = read_all_new(Cursor(path=str(path)))
    calls = result.calls
    first_pass = read_new(Cursor(path=str(path)), max_bytes=4096, max_line_bytes=65_536)
    cursor, seen = first_pass.cursor, list(first_pass.calls)
    for _ in range(100):
        step = read_new(cursor, max_bytes=4096, max_line_bytes=65_536)
        seen += step.calls
        cursor = step.cursor
        if step.remaining_bytes == 0:
            break
    assert [c.model for c in calls] == ["claude-opus-4-6", "claude-opus-4-6", "claude-haiku-4-5"]
    assert [c.model for c in seen] == [c.model for c in calls]  # the 300 kB line was skipped, not the others
    assert cursor.offset == path.stat().st_size


def test_cost_state_delta_per_model(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    session = _session(1)
    session.cost_state(0.5, {"claude-opus-4-6": 0.5})
    session.cost_state(0.8, {"claude-opus-4-6": 0.7, "claude-haiku-4-5": 0.1})
    session.cost_state(0.2, {"claude-opus-4-6": 0.2})  # a new process started counting again
    path.write_text(session.text())
    states = read_all_new(Cursor(path=str(path))).cost_states
    deltas = [dict(s.delta_usd_by_model) for s in states]
    assert deltas[0] == {"claude-opus-4-6": 0.5}
    assert deltas[1] == pytest.approx({"claude-opus-4-6": 0.2, "claude-haiku-4-5": 0.1})
    assert deltas[2] == {"claude-opus-4-6": 0.2}


def test_interactive_fixture_repeated_cost_state_adds_nothing(tmp_path: Path) -> None:
    src = FIXTURES / "interactive" / "transcripts" / "-home-dev-project" / "6d4c2e90-1c70-4527-a664-fbce0b3cc973.jsonl"
    path = tmp_path / "t.jsonl"
    shutil.copy(src, path)
    states = read_all_new(Cursor(path=str(path))).cost_states
    assert len(states) == 2 and dict(states[1].delta_usd_by_model) == {}


def test_a_usage_line_orjson_refuses_is_read_by_json(tmp_path: Path) -> None:
    """An escaped lone surrogate (an emoji cut in half) is valid JSON that orjson refuses: the call still counts."""
    session = _session(n_responses=1)
    line = session.lines[-1]
    data = json.loads(line)
    data["message"]["content"] = [{"type": "text", "text": "cut \ud83d"}]
    broken = json.dumps(data)  # ensure_ascii: the surrogate is written as \ud83d
    assert "\\ud83d" in broken
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([*session.lines[:-1], broken]) + "\n", encoding="utf-8")
    result = read_all_new(Cursor(path=str(path)), Dedup())
    assert [c.usage.input_tokens for c in result.calls] == [10] and result.skipped_lines == 0


def test_only_lines_with_a_usage_key_are_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte pre-filter: a tool result that mentions usage inside a JSON string is not decoded."""
    from otel_claude.transcripts import lines as lines_module

    session = _session(n_responses=2)
    tool_result = json.dumps({"type": "user", "message": {"content": 'the "usage" field'}, "sessionId": "sess-0001"})
    assert '\\"usage\\"' in tool_result
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([*session.lines, tool_result]) + "\n", encoding="utf-8")
    parsed: list[bytes] = []
    real = lines_module.loads

    def counting(line: bytes) -> object:
        parsed.append(line)
        return real(line)

    monkeypatch.setattr(lines_module, "loads", counting)
    result = read_all_new(Cursor(path=str(path)), Dedup())
    assert len(result.calls) == 2
    assert len(parsed) == sum(1 for line in session.lines if '"usage"' in line)  # the tool result never decoded


def test_skipping_exact_repeats_changes_no_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser skips a line repeating the previous call exactly; with the dedup the calls are the same as without."""
    from cost.support import fixture_projects
    from otel_claude.backfill.run import discover
    from otel_claude.transcripts import lines as lines_module

    session = _session(n_responses=4)  # two lines per response, the same usage
    session.response("claude-opus-4-6", T0 + timedelta(seconds=30), usage(7, 8), blocks=4)  # and one of four
    generated = tmp_path / "generated.jsonl"
    generated.write_text("\n".join(session.lines) + "\n", encoding="utf-8")
    paths = [str(generated), *discover([str(fixture_projects(tmp_path))])]
    built: list[int] = []
    real_usage = lines_module.usage_from_json

    def counting(raw: dict[str, object]) -> object:
        built.append(1)
        return real_usage(raw)

    monkeypatch.setattr(lines_module, "usage_from_json", counting)
    skipped_reads = [read_all_new(Cursor(path=path), Dedup()) for path in paths]
    skipped = [read.calls for read in skipped_reads]
    built_when_skipping = len(built)
    original_init = lines_module.LineParser.__init__

    def never_skip(self: lines_module.LineParser, *args: object, skip_repeats: bool = False, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lines_module.LineParser, "__init__", never_skip)
    unskipped_reads = [read_all_new(Cursor(path=path), Dedup()) for path in paths]
    unskipped = [read.calls for read in unskipped_reads]
    assert skipped == unskipped and sum(map(len, skipped)) > 4
    # The responses close at the same lines and times: a skipped repeat extends its response as a built one does.
    assert [read.closed_messages for read in skipped_reads] == [read.closed_messages for read in unskipped_reads]
    assert built_when_skipping < len(built) - built_when_skipping  # the repeats were really skipped


@pytest.mark.parametrize("split_after", [None, 1, 2, 3])
def test_a_three_line_response_closes_once_at_its_last_line(tmp_path: Path, split_after: int | None) -> None:
    """Three content blocks, three lines with the same usage: one response, closed once by the next prompt at its
    third line's time, whether all its lines come in one read or the reads fall between them. (A skipped repeat used
    to close the response itself: closed at its second line, then again at its third.)"""
    session = SessionWriter("sess-0001")
    session.prompt("prompt-1", T0)
    message_id, request_id = session.response("claude-opus-4-6", T0 + timedelta(seconds=1), usage(10, 20), blocks=3)
    session.prompt("prompt-2", T0 + timedelta(seconds=5))
    lines = [line + "\n" for line in session.lines]  # prompt, api-request, three response lines, prompt
    path = tmp_path / "t.jsonl"
    cut = len(lines) if split_after is None else 2 + split_after
    path.write_text("".join(lines[:cut]))
    dedup = Dedup()
    first = read_new(Cursor(path=str(path)), dedup)
    _append(path, "".join(lines[cut:]))
    second = read_new(first.cursor, dedup)
    last_line_ns = int(T0.timestamp()) * 10**9 + 1_010_000_000
    assert first.closed_messages + second.closed_messages == [((message_id, request_id), last_line_ns)]
    assert len(first.calls + second.calls) == 1
    # What live does with a first read that ends inside the response: nothing closed yet, the response still open.
    if split_after in (1, 2):
        assert first.closed_messages == []
        assert first.cursor.context["open_message"][0] == [message_id, request_id]


def test_timestamp_fast_path_agrees_with_the_general_parser() -> None:
    """Claude Code's `...T08:16:42.791Z` is read from a cached minute; every string, well formed or not, gets the
    value (or None) `datetime.fromisoformat` gives."""
    import random

    from otel_claude.transcripts import timestamps

    rng = random.Random(14)
    alphabet = "0123456789:-TZ.+ x\u0661"
    for _ in range(20_000):
        millis = rng.randrange(0, 4_000_000_000_000)
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
        assert timestamps.parse_timestamp_ns(text) == millis * 1_000_000
        mutated = list(text)
        mutated[rng.randrange(len(mutated))] = rng.choice(alphabet)
        broken = "".join(mutated)
        assert timestamps.parse_timestamp_ns(broken) == timestamps.parse_iso_ns(broken), broken
    assert timestamps.parse_timestamp_ns("2026-11-23T08:16:60.000Z") is None  # no leap second
    assert timestamps.parse_timestamp_ns("2026-11-23T08:16:42.791+00:00") == timestamps.parse_timestamp_ns(
        "2026-11-23T08:16:42.791Z"
    )
    assert timestamps.parse_timestamp_ns(None) is None and timestamps.parse_timestamp_ns("") is None


_EVERY_FIXTURE = sorted(p for p in FIXTURES.parent.rglob("*.jsonl") if "transcripts" in p.parts)


@pytest.mark.parametrize("source", [*(str(p.relative_to(FIXTURES.parent)) for p in _EVERY_FIXTURE), "corpus"])
def test_calls_only_reads_the_same_calls_and_response_ends(source: str, tmp_path: Path) -> None:
    """Backfill's `calls_only` read returns no stopped or refused tool call: its calls (prompt ids included), the
    ends of their responses, its cost states and failed requests are those of the full read, in every captured
    transcript (Esc and blocked calls among them) and a generated one."""
    from cost.transcript_gen import corpus_lines

    if source != "corpus":
        path = FIXTURES.parent / source
    else:
        path = tmp_path / "t.jsonl"
        path.write_text("".join(line + "\n" for line in corpus_lines("sess-0002", 400_000, seed=3)))
    full = read_all_new(Cursor(path=str(path)), Dedup())
    lean_parts = []
    cursor, dedup = Cursor(path=str(path)), Dedup()
    while True:
        step = read_new(cursor, dedup, max_bytes=65_536, calls_only=True)
        lean_parts.append(step)
        cursor = step.cursor
        if not step.progressed or step.remaining_bytes == 0:
            break
    lean = read_new(Cursor(path=str(path)), Dedup(), calls_only=True)
    assert lean.calls == full.calls and lean.closed_messages == full.closed_messages
    failed = [notice for notice in full.interrupts if isinstance(notice, ApiError)]
    assert lean.cost_states == full.cost_states and lean.interrupts == failed
    assert [c for part in lean_parts for c in part.calls] == full.calls  # across bounded reads too
    assert [s for part in lean_parts for s in part.cost_states] == full.cost_states
    assert [e for part in lean_parts for e in part.interrupts] == failed


def test_calls_only_keeps_the_prompt_id_a_stopped_tool_calls_line_does_not_set(tmp_path: Path) -> None:
    """A line that stops a tool call (Esc) returns early in a full read, without taking its prompt id; a calls-only
    read must do the same, or the next response would land in another turn (another trace) in backfill."""
    from otel_claude.transcripts.notice_lines import REJECTED as _REJECTED

    session = _session(1, prompt_id="prompt-1")
    stopped = {
        "type": "user",
        "promptId": "prompt-2",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": _REJECTED}],
        },
        "timestamp": "2026-11-20T10:00:05.000Z",
        "sessionId": "sess-0001",
    }
    session.raw(json.dumps(stopped, separators=(",", ":")))
    later = SessionWriter("sess-0001")
    later._n = 50
    later.response("claude-opus-4-6", T0 + timedelta(seconds=9), usage(4, 4), blocks=1)
    path = tmp_path / "t.jsonl"
    path.write_text(session.text() + later.text())
    full = read_all_new(Cursor(path=str(path)), Dedup())
    lean = read_new(Cursor(path=str(path)), Dedup(), calls_only=True)
    assert len(full.interrupts) == 1 and full.calls[-1].prompt_id == "prompt-1"
    assert lean.calls == full.calls


def test_a_read_without_cost_states_still_closes_a_response_at_a_cost_state_line() -> None:
    """Backfill reads a subagent's transcript without decoding its cost-state lines (only the main transcript's
    count, as for the agent): the calls and their responses' ends are those of a full read."""
    path = FIXTURES / "main" / "transcripts" / "-home-dev-project" / "c77f9869-7342-4145-9251-6b7551d2e158.jsonl"
    full = read_new(Cursor(path=str(path)), Dedup(), calls_only=True)
    lean = read_new(Cursor(path=str(path)), Dedup(), calls_only=True, cost_states=False)
    assert len(full.cost_states) == 2 and lean.cost_states == []
    assert lean.calls == full.calls and lean.closed_messages == full.closed_messages
