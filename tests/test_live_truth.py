"""Issue 10: what live spans say about a real session (fixture sessions of Claude Code 2.1.330, and hand-made
transcripts written in the adverse order: lines after the hook that needs them)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import SESSION_NAMES, SESSIONS, capture_entries, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from support.live_usage import LiveRun, ProgressiveTranscripts, feed_capture, feed_fixture, message_line_times

from otel_claude import semconv as sc
from otel_claude.cli.replay import to_ns
from otel_claude.transcripts.timestamps import parse_timestamp_ns

SECOND = 1_000_000_000


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _of_type(spans: list[ReadableSpan], span_type: str) -> list[ReadableSpan]:
    return [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == span_type]


def _answered(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The chat spans of calls that got a response (a failed API call's span has no usage)."""
    return [s for s in _of_type(spans, sc.SPAN_TYPE_LLM) if sc.GEN_AI_USAGE_OUTPUT_TOKENS in _attrs(s)]


def _run_fixture(name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> LiveRun:
    run = LiveRun(tracer_provider, meter_provider)
    feed_fixture(run, SESSIONS / name, load_session(name))
    return run


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_every_chat_span_covers_its_message_first_to_last_line(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    _run_fixture(name, tracer_provider, meter_provider)
    spans = list(span_exporter.get_finished_spans())
    chats = [c for c in _answered(spans) if sc.CC_LLM_SOURCE not in _attrs(c)]
    lines = message_line_times(sorted((SESSIONS / name / "transcripts").rglob("*.jsonl")))
    assert chats and len({_attrs(c)[sc.GEN_AI_RESPONSE_ID] for c in chats}) == len(chats), "each response once"
    several = 0
    for chat in chats:
        first, last = lines[str(_attrs(chat)[sc.GEN_AI_RESPONSE_ID])]
        assert chat.end_time == last
        assert chat.start_time is not None and chat.start_time <= first
        several += first != last
    if name == "main":
        assert several >= 3, "the main fixture has responses written over several lines"


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_turn_and_subagent_spans_carry_the_totals_of_their_calls(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    run = _run_fixture(name, tracer_provider, meter_provider)
    assert run.state.held == [], "every held span was released by the settle read"
    spans = list(span_exporter.get_finished_spans())
    chats = _answered(spans)
    by_trace: dict[int, list[ReadableSpan]] = defaultdict(list)
    by_parent: dict[int, list[ReadableSpan]] = defaultdict(list)
    for chat in chats:
        assert chat.context is not None and chat.parent is not None
        by_trace[chat.context.trace_id].append(chat)
        by_parent[chat.parent.span_id].append(chat)
    keys = (
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    )
    framing = [(t, by_trace) for t in _of_type(spans, sc.SPAN_TYPE_TURN)]
    framing += [(s, by_parent) for s in _of_type(spans, sc.SPAN_TYPE_SUBAGENT)]
    with_calls = 0
    for span, index in framing:
        assert span.context is not None
        key = span.context.trace_id if index is by_trace else span.context.span_id
        inside = index.get(key, [])
        with_calls += bool(inside)
        attributes = _attrs(span)
        for name_ in keys:
            assert attributes[name_] == sum(_attrs(c)[name_] for c in inside), (span.name, name_)
        assert attributes[sc.CC_LLM_CALLS] == len(inside)
        assert attributes[sc.CC_COST_USD] == pytest.approx(sum(_attrs(c)[sc.CC_COST_USD] for c in inside))
    assert with_calls, "some turn has LLM calls"
    # Claude Code's own cost figure on each turn whose transcript has one, beside ours.
    sessions = {str(_attrs(t)[sc.SESSION_ID]) for t in _of_type(spans, sc.SPAN_TYPE_TURN)}
    for session_id in sessions:
        transcripts = list((SESSIONS / name / "transcripts").rglob(f"{session_id}.jsonl"))
        has_cost_state = any(b'"cost-state"' in p.read_bytes() for p in transcripts)
        for turn in _of_type(spans, sc.SPAN_TYPE_TURN):
            if _attrs(turn)[sc.SESSION_ID] == session_id:
                assert (sc.CC_REPORTED_COST_USD in _attrs(turn)) == has_cost_state, session_id


def _last_cost_states(name: str) -> dict[str, dict[str, Any]]:
    """Claude Code's own totals: the last cost-state line of each session's transcript."""
    states: dict[str, dict[str, Any]] = {}
    for path in (SESSIONS / name / "transcripts").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if '"cost-state"' in line:
                data = json.loads(line)
                states[data["sessionId"]] = data
    return states


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_tokens_and_cost_per_session_equal_claude_codes_cost_state(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    _run_fixture(name, tracer_provider, meter_provider)
    chats = _answered(list(span_exporter.get_finished_spans()))
    states = _last_cost_states(name)
    assert states
    for session_id, state in states.items():
        ours = [_attrs(c) for c in chats if _attrs(c)[sc.SESSION_ID] == session_id]
        assert sum(c[sc.CC_COST_USD] for c in ours) == pytest.approx(state["totalCostUSD"], rel=1e-9, abs=1e-12)
        for model, usage in state["modelUsage"].items():
            of_model = [c for c in ours if c[sc.GEN_AI_RESPONSE_MODEL] == model]
            got = [sum(c[k] for c in of_model) for k in _TOKEN_KEYS]
            assert got == [usage[k] for k in _STATE_KEYS], (session_id, model)


_TOKEN_KEYS = (
    sc.CC_UNCACHED_INPUT_TOKENS,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
)
_STATE_KEYS = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")


def test_the_compact_summary_call_is_a_span_in_its_compaction_and_the_bare_compact_turn_completed(
    tmp_path: Path,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    # The transcript written as the session went (a cost-state line after each run), not whole from the start.
    progressive = ProgressiveTranscripts(SESSIONS / "main", tmp_path)
    run = LiveRun(tracer_provider, meter_provider)
    feed_fixture(run, tmp_path, load_session("main"), progressive)
    progressive.flush()
    run.settle()
    spans = list(span_exporter.get_finished_spans())
    (compaction,) = _of_type(spans, sc.SPAN_TYPE_COMPACTION)
    (summary,) = [c for c in _of_type(spans, sc.SPAN_TYPE_LLM) if sc.CC_LLM_SOURCE in _attrs(c)]
    assert _attrs(summary)[sc.CC_LLM_SOURCE] == sc.LLM_SOURCE_COST_STATE
    assert summary.parent is not None and compaction.context is not None
    assert summary.parent.span_id == compaction.context.span_id
    assert (summary.start_time, summary.end_time) == (compaction.start_time, compaction.end_time)
    # Its figures: Claude Code's cost-state grew by them, and no transcript line shows them.
    assert [_attrs(summary)[k] for k in _TOKEN_KEYS] == [1843, 61, 13028, 128]
    compact_turn = next(
        t for t in _of_type(spans, sc.SPAN_TYPE_TURN) if _attrs(t)[sc.CC_PROMPT_ID].startswith("6bf55f7e")
    )
    assert _attrs(compact_turn)[sc.CC_TURN_OUTCOME] == sc.TURN_COMPLETED
    assert sc.CC_UNFINISHED not in _attrs(compact_turn) and sc.CC_CLOSED_BY not in _attrs(compact_turn)
    assert _attrs(compact_turn)[sc.CC_COST_USD] == pytest.approx(_attrs(summary)[sc.CC_COST_USD])
    outcomes: dict[str, float] = {}
    data = metric_reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == sc.METRIC_TURNS:
                    for point in metric.data.data_points:
                        outcome = str(point.attributes.get(sc.CC_TURN_OUTCOME))
                        outcomes[outcome] = outcomes.get(outcome, 0) + point.value
    assert outcomes == {sc.TURN_COMPLETED: 2}


# --- the adverse order: the transcript written after the hooks that name it ---------------------------------

SESSION = "5e55-0000"
PROMPT = "p-1"


def _line(kind: str, ts_ms: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": f"2026-11-30T10:00:{ts_ms // 1000:02d}.{ts_ms % 1000:03d}Z", **fields}


def _assistant(ts_ms: int, message_id: str, block: dict[str, Any], output: int = 50) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": output, "cache_read_input_tokens": 100}
    message = {"id": message_id, "model": "claude-opus-5-5", "role": "assistant", "content": [block], "usage": usage}
    return _line("assistant", ts_ms, sessionId=SESSION, requestId="req_" + message_id, promptId=PROMPT, message=message)


def _append(path: Path, *lines: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)  # as Claude Code writes


def _ns(ts_ms: int) -> int:
    return 1_796_032_800 * SECOND + ts_ms * 1_000_000  # 2026-11-30T10:00:00Z


def _event(name: str, path: Path, **fields: Any) -> dict[str, Any]:
    return {"session_id": SESSION, "hook_event_name": name, "transcript_path": str(path), "prompt_id": PROMPT, **fields}


def test_a_response_read_in_pieces_and_a_turn_stopped_before_its_transcript_settled(
    tmp_path: Path, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    run = LiveRun(tracer_provider, meter_provider)
    _append(path, _line("user", 0, sessionId=SESSION, promptId=PROMPT))
    run.handle(_event("UserPromptSubmit", path, prompt="hi"), _ns(10))
    # The text block of the first response is on disk, its large tool_use block still streaming.
    _append(path, _assistant(100, "msg_a", {"type": "text", "text": "writing"}))
    run.handle(_event("Notification", path, notification_type="idle_prompt", message="m"), _ns(120))
    assert _of_type(list(span_exporter.get_finished_spans()), sc.SPAN_TYPE_LLM) == [], "not before its last line"
    _append(path, _assistant(590, "msg_a", {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}}))
    run.handle(_event("PreToolUse", path, tool_name="Write", tool_use_id="toolu_1", tool_input={}), _ns(600))
    _append(path, _line("user", 700, sessionId=SESSION, promptId=PROMPT))  # the tool result closes the response
    run.handle(_event("PostToolUse", path, tool_name="Write", tool_use_id="toolu_1", duration_ms=80), _ns(710))
    (chat,) = _of_type(list(span_exporter.get_finished_spans()), sc.SPAN_TYPE_LLM)
    assert chat.end_time == _ns(590), "the span ends at the response's last line, not its first"
    # Stop fires before the last response and Claude Code's cost line are written.
    run.handle(_event("Stop", path), _ns(900))
    assert _of_type(list(span_exporter.get_finished_spans()), sc.SPAN_TYPE_TURN) == [], "held until settled"
    _append(path, _assistant(950, "msg_b", {"type": "text", "text": "done"}, output=7))
    cost_state = {"type": "cost-state", "sessionId": SESSION, "totalCostUSD": 0.0123, "modelUsage": {}}
    _append(path, cost_state)
    run.handle(_event("SessionEnd", path, reason="other"), _ns(1000))
    run.settle()
    spans = list(span_exporter.get_finished_spans())
    (turn,) = _of_type(spans, sc.SPAN_TYPE_TURN)
    chats = _of_type(spans, sc.SPAN_TYPE_LLM)
    assert sorted(_attrs(c)[sc.GEN_AI_RESPONSE_ID] for c in chats) == ["msg_a", "msg_b"]
    attributes = _attrs(turn)
    assert turn.end_time == _ns(900), "the turn still ends at Stop"
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 57 and attributes[sc.CC_LLM_CALLS] == 2
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 220
    assert attributes[sc.CC_COST_USD] == pytest.approx(sum(_attrs(c)[sc.CC_COST_USD] for c in chats))
    assert attributes[sc.CC_SESSION_COST_USD] == pytest.approx(attributes[sc.CC_COST_USD])
    assert attributes[sc.CC_REPORTED_COST_USD] == 0.0123
    assert run.state.held == [] and all(not e.pending for e in run.state.transcripts.values())


# --- order independence: concurrent hook processes reach the spool in any order ---------------------------------


def _tree(spans: list[ReadableSpan]) -> dict[int, tuple[Any, ...]]:
    keys = (sc.CC_SESSION_SOURCE, sc.CC_UNFINISHED, sc.CC_CLOSED_BY, sc.CC_SUBAGENT_PARENT_TOOL_CALL_ID)
    tree: dict[int, tuple[Any, ...]] = {}
    for span in spans:
        assert span.context is not None
        parent = span.parent.span_id if span.parent is not None else None
        tree[span.context.span_id] = (span.name, parent, *(_attrs(span).get(k) for k in keys))
    return tree


def _swap_first(entries: list[dict[str, Any]], first: str, then: str, session_prefix: str) -> list[dict[str, Any]]:
    """`then` moved before `first` (their receive times kept in file order): the adverse arrival."""
    out = [dict(e) for e in entries]
    i = next(
        n for n, e in enumerate(out) if e["event"] == first and e["payload"]["session_id"].startswith(session_prefix)
    )
    j = next(
        n for n, e in enumerate(out) if e["event"] == then and e["payload"]["session_id"].startswith(session_prefix)
    )
    assert i < j
    out[i], out[j] = out[j], out[i]
    out[i]["ts"], out[j]["ts"] = entries[i]["ts"], entries[j]["ts"]
    return out


def _sessions_counted(metric_reader: Any) -> dict[str, float]:
    counts: dict[str, float] = {}
    data = metric_reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == sc.METRIC_SESSIONS:
                    for point in metric.data.data_points:
                        source = str(point.attributes.get(sc.CC_SESSION_SOURCE))
                        counts[source] = counts.get(source, 0) + point.value
    return counts


@pytest.mark.parametrize("meta", ["written_late", "missing"])
def test_a_subagent_started_after_its_background_agent_call_ended_nests_under_that_call(
    meta: str,
    tmp_path: Path,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    entries = load_session("extras")
    natural = LiveRun(tracer_provider, meter_provider)
    feed_fixture(natural, SESSIONS / "extras", entries)
    expected = _tree(list(span_exporter.get_finished_spans()))
    span_exporter.clear()
    # The adverse order: PostToolUse(Agent) spooled before SubagentStart, and the .meta.json naming the Agent call
    # not on disk yet when SubagentStart is handled (or never).
    copy = tmp_path / "extras"
    shutil.copytree(SESSIONS / "extras", copy)
    (meta_file,) = copy.rglob("agent-*.meta.json")
    saved = meta_file.read_bytes()
    meta_file.unlink()

    def before(entry: dict[str, Any]) -> None:
        if entry["event"] == "SubagentStop" and meta == "written_late":
            meta_file.write_bytes(saved)

    adverse = LiveRun(tracer_provider, meter_provider)
    feed_fixture(adverse, copy, _swap_first(entries, "SubagentStart", "PostToolUse", "0b5509ef"), before)
    spans = list(span_exporter.get_finished_spans())
    assert _tree(spans) == expected
    (subagent,) = _of_type(spans, sc.SPAN_TYPE_SUBAGENT)
    (agent_call,) = [s for s in spans if s.name == sc.tool_span_name("Agent")]
    assert subagent.parent is not None and agent_call.context is not None
    assert subagent.parent.span_id == agent_call.context.span_id


def test_a_session_start_spooled_after_setup_and_instructions_is_still_the_run_start(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    # In the fixture, `claude --init-only` spooled Setup and InstructionsLoaded before SessionStart already.
    entries = [e for e in load_session("extras") if e["payload"]["session_id"].startswith("20b011b2")]
    assert [e["event"] for e in entries][:3] == ["Setup", "InstructionsLoaded", "SessionStart"]
    run = LiveRun(tracer_provider, meter_provider)
    feed_fixture(run, SESSIONS / "extras", entries)
    (session_span,) = _of_type(list(span_exporter.get_finished_spans()), sc.SPAN_TYPE_SESSION)
    attributes = _attrs(session_span)
    assert attributes[sc.CC_SESSION_SOURCE] == "startup"
    assert attributes[sc.CC_UNFINISHED] is False and sc.CC_CLOSED_BY not in attributes
    assert session_span.start_time == to_ns(entries[0]["ts"])
    assert [e.name for e in session_span.events][:2] == ["Setup", "InstructionsLoaded"]
    assert _sessions_counted(metric_reader) == {"startup": 1}


def test_a_run_with_no_session_start_at_all_is_counted_once_as_unknown(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    entries = [
        e
        for e in load_session("extras")
        if e["payload"]["session_id"].startswith("20b011b2") and e["event"] != "SessionStart"
    ]
    run = LiveRun(tracer_provider, meter_provider)
    feed_fixture(run, SESSIONS / "extras", entries)
    (session_span,) = _of_type(list(span_exporter.get_finished_spans()), sc.SPAN_TYPE_SESSION)
    assert _attrs(session_span)[sc.CC_SESSION_SOURCE] == "unknown"
    assert _attrs(session_span)[sc.CC_CLOSED_BY] == "implicit_start"
    assert _sessions_counted(metric_reader) == {"unknown": 1}


@pytest.mark.parametrize("name", ["main", "interactive"])
def test_session_and_turn_spans_carry_claude_codes_version(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    _run_fixture(name, tracer_provider, meter_provider)
    spans = list(span_exporter.get_finished_spans())
    framing = _of_type(spans, sc.SPAN_TYPE_SESSION) + _of_type(spans, sc.SPAN_TYPE_TURN)
    assert framing and {_attrs(s).get(sc.CC_VERSION) for s in framing} == {"2.1.330"}


# --- Esc: no hook fires, the transcript has the interrupt and its time ------------------------------------------

ESC = SESSIONS.parent / "esc-interrupt"


@pytest.mark.parametrize("progressive", [True, False], ids=["as-written", "whole-file"])
def test_a_call_stopped_with_esc_is_interrupted_at_the_transcripts_time(
    progressive: bool,
    tmp_path: Path,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    """As written (the transcript read as the lines came), and whole from the start (a replay: the Esc is read
    before its turn and call opened, and kept for when they would close unfinished)."""
    entries = capture_entries(ESC)
    events = [e["event"] for e in entries]
    assert "PostToolUseFailure" not in events and events.count("Stop") == 1, "2.1.330 fires nothing on Esc"
    run = LiveRun(tracer_provider, meter_provider)
    feed_capture(run, ESC, entries, tmp_path if progressive else None)
    spans = list(span_exporter.get_finished_spans())
    (tool,) = [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]
    (transcript,) = (ESC / "transcripts").rglob("*.jsonl")
    rejected = next(
        json.loads(line)
        for line in transcript.read_text(encoding="utf-8").splitlines()
        if "doesn't want to proceed" in line and '"tool_result"' in line
    )
    assert _attrs(tool)[sc.CC_TOOL_OUTCOME] == sc.OUTCOME_INTERRUPTED
    assert tool.end_time == parse_timestamp_ns(rejected["timestamp"]), "ends when the user pressed Esc"
    next_prompt = [e for e in entries if e["event"] == "UserPromptSubmit"][1]
    assert tool.end_time is not None and tool.end_time < to_ns(next_prompt["ts"]) - 2 * SECOND
    assert tool.status.status_code is StatusCode.ERROR and _attrs(tool)[sc.ERROR_TYPE] == sc.OUTCOME_INTERRUPTED
    assert sc.CC_UNFINISHED not in _attrs(tool)
    # Claude Code stopped there and waited for the user: the turn ended with the Esc, not at the next prompt.
    first, second = sorted(_of_type(spans, sc.SPAN_TYPE_TURN), key=lambda t: t.start_time or 0)
    assert _attrs(first)[sc.CC_TURN_OUTCOME] == sc.TURN_INTERRUPTED and first.end_time == tool.end_time
    assert sc.CC_UNFINISHED not in _attrs(first) and _attrs(second)[sc.CC_TURN_OUTCOME] == sc.TURN_COMPLETED


ESC_STREAMING = SESSIONS.parent / "esc-streaming"


@pytest.mark.parametrize("progressive", [True, False], ids=["as-written", "whole-file"])
def test_esc_while_the_model_answers_ends_the_turn_and_the_call_at_the_esc(
    progressive: bool,
    tmp_path: Path,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    """No tool runs and no hook fires: the transcript's "[Request interrupted by user]" line names the response
    cut off and the time. The turn ends there, interrupted (not at the next prompt, unfinished), and so does the
    response's call, which was still streaming until then."""
    entries = capture_entries(ESC_STREAMING)
    events = [e["event"] for e in entries]
    assert events.count("UserPromptSubmit") == 2 and events.count("Stop") == 1, "2.1.330 fires nothing on Esc"
    run = LiveRun(tracer_provider, meter_provider)
    feed_capture(run, ESC_STREAMING, entries, tmp_path if progressive else None)
    spans = list(span_exporter.get_finished_spans())
    (transcript,) = (ESC_STREAMING / "transcripts").rglob("*.jsonl")
    lines = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    (stopped,) = [line for line in lines if "interruptedMessageId" in line]
    esc_ns = parse_timestamp_ns(stopped["timestamp"])
    first, second = sorted(_of_type(spans, sc.SPAN_TYPE_TURN), key=lambda t: t.start_time or 0)
    assert _attrs(first)[sc.CC_TURN_OUTCOME] == sc.TURN_INTERRUPTED and first.end_time == esc_ns
    assert _attrs(first)[sc.CC_CLOSED_BY] == "transcript" and sc.CC_UNFINISHED not in _attrs(first)
    assert _attrs(second)[sc.CC_TURN_OUTCOME] == sc.TURN_COMPLETED
    (cut,) = [
        s
        for s in _of_type(spans, sc.SPAN_TYPE_LLM)
        if _attrs(s).get(sc.GEN_AI_RESPONSE_ID) == stopped["interruptedMessageId"]
    ]
    assert cut.end_time == esc_ns and cut.parent is not None and first.context is not None
    assert cut.parent.span_id == first.context.span_id and _attrs(cut)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1


def test_a_failed_api_call_is_a_chat_span_with_the_apis_error(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    # The fixture's scripted 400 ("prompt is too long"): Claude Code wrote an API error line and fired StopFailure.
    entries = [e for e in load_session("extras") if e["payload"]["session_id"].startswith("1511a3ff")]
    assert "StopFailure" in [e["event"] for e in entries]
    feed_fixture(LiveRun(tracer_provider, meter_provider), SESSIONS / "extras", entries)
    spans = list(span_exporter.get_finished_spans())
    (failed,) = _of_type(spans, sc.SPAN_TYPE_LLM)
    (turn,) = _of_type(spans, sc.SPAN_TYPE_TURN)
    attributes = _attrs(failed)
    assert failed.status.status_code is StatusCode.ERROR
    assert attributes[sc.ERROR_TYPE] == "invalid_request_error" and attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 400
    assert attributes[sc.CC_REQUEST_ID] == "req_fake_a5eeb8705af749d2b678"
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attributes, "no response, no tokens"
    assert failed.parent is not None and turn.context is not None and failed.parent.span_id == turn.context.span_id
    assert failed.start_time is not None and failed.end_time is not None and failed.start_time <= failed.end_time
    assert _attrs(turn)[sc.CC_LLM_CALLS] == 0, "not counted as a call with usage"


BLOCKED = SESSIONS.parent / "blocked-call"


def test_a_call_claude_code_blocks_itself_gets_a_span_from_the_transcript(
    tmp_path: Path,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    entries = capture_entries(BLOCKED)
    assert not [e for e in entries if "ToolUse" in e["event"]], "no hook fired for the blocked call"
    run = LiveRun(tracer_provider, meter_provider)
    feed_capture(run, BLOCKED, entries, tmp_path)
    spans = list(span_exporter.get_finished_spans())
    (tool,) = [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]
    (transcript,) = (BLOCKED / "transcripts").rglob("*.jsonl")
    lines = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    use = next(
        d
        for d in lines
        if d.get("type") == "assistant" and any(b.get("type") == "tool_use" for b in d["message"]["content"])
    )
    result = next(d for d in lines if "Blocked: standalone sleep" in json.dumps(d) and d.get("type") == "user")
    attributes = _attrs(tool)
    assert tool.name == sc.tool_span_name("Bash") and attributes[sc.CC_TOOL_OUTCOME] == sc.OUTCOME_BLOCKED
    assert (tool.start_time, tool.end_time) == (
        parse_timestamp_ns(use["timestamp"]),
        parse_timestamp_ns(result["timestamp"]),
    )
    first_turn = min(_of_type(spans, sc.SPAN_TYPE_TURN), key=lambda t: t.start_time or 0)
    assert tool.parent is not None and first_turn.context is not None
    assert tool.parent.span_id == first_turn.context.span_id
    assert tool.status.status_code is StatusCode.UNSET and sc.ERROR_TYPE not in attributes
    # Capture off (the default): the refusal's words quote the command, so only their size leaves.
    text = result["message"]["content"][0]["content"]
    reason = text.removeprefix("<tool_use_error>").removesuffix("</tool_use_error>")
    assert sc.CC_TOOL_ERROR not in attributes and attributes[sc.CC_TOOL_ERROR_SIZE] == len(reason.encode())
    outcomes: dict[str, float] = {}
    durations = 0
    data = metric_reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    if metric.name == sc.METRIC_TOOL_CALLS:
                        outcome = str(point.attributes.get(sc.CC_TOOL_OUTCOME))
                        outcomes[outcome] = outcomes.get(outcome, 0) + point.value
                    if metric.name == sc.METRIC_TOOL_DURATION:
                        durations += point.count
    assert outcomes == {sc.OUTCOME_BLOCKED: 1} and durations == 0, "counted, with no execution time"
