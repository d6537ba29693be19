"""Backfill counts the calls only a cost-state line shows as the live agent does, and its totals per session are the
agent's and Claude Code's own; the fixture sessions of Claude Code 2.1.330 and hand-made sessions of several runs."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, SESSIONS, capture_entries
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.live_usage import LiveRun, ProgressiveTranscripts, feed_capture, feed_fixture

from cost.support import memory_delivery
from cost.transcript_gen import SessionWriter, dumps, usage
from otel_claude import semconv as sc
from otel_claude.backfill.delivery import Delivery
from otel_claude.backfill.run import run_backfill
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.live import error_classes

# Every captured session directory whose transcripts have cost-state lines (one of them a /compact).
CAPTURES = {"main": SESSIONS / "main", "extras": SESSIONS / "extras", "interactive": SESSIONS / "interactive"}
CAPTURES |= {"esc-interrupt": FIXTURES / "esc-interrupt", "blocked-call": FIXTURES / "blocked-call"}
CAPTURES |= {"esc-streaming": FIXTURES / "esc-streaming"}
TOKENS = (
    sc.CC_UNCACHED_INPUT_TOKENS,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
)
STATE_TOKENS = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _answered(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> list[dict[str, Any]]:
    """The chat spans with tokens: calls read from transcript lines and calls counted from cost-state lines."""
    return [
        _attrs(s)
        for s in spans
        if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_LLM and sc.GEN_AI_USAGE_OUTPUT_TOKENS in _attrs(s)
    ]


def _totals(chats: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """By session and model: the four token kinds, the cost and the calls."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 6)
    for chat in chats:
        row = totals[(chat[sc.SESSION_ID], chat[sc.GEN_AI_RESPONSE_MODEL])]
        for at, key in enumerate(TOKENS):
            row[at] += chat[key]
        row[4] += chat[sc.CC_COST_USD]
        row[5] += 1
    return {key: [*row[:4], round(row[4], 9), row[5]] for key, row in totals.items()}  # sums in another order


def _last_cost_states(transcripts: Path) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for path in sorted(transcripts.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if '"cost-state"' in line:
                data = json.loads(line)
                states[data["sessionId"]] = data
    return states


def _live(capture: Path, tmp_path: Path, progressive: bool) -> list[dict[str, Any]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    run = LiveRun(tracer_provider, MeterProvider())
    entries = capture_entries(capture)
    if progressive:  # the transcripts written as Claude Code wrote them, in time with the hooks: as the agent runs
        writer = ProgressiveTranscripts(capture, tmp_path / "live")
        feed_fixture(run, tmp_path / "live", entries, writer)
        writer.flush()
        run.settle()
    else:  # whole from the start (a replay)
        feed_capture(run, capture, entries, None)
    return _answered(exporter.get_finished_spans())


def _backfill(transcripts: Path, tmp_path: Path, **options: Any) -> tuple[Any, list[ReadableSpan]]:
    projects = tmp_path / "projects"
    shutil.copytree(transcripts, projects, dirs_exist_ok=True)
    exporter = InMemorySpanExporter()
    state = str(tmp_path / "state")
    summary = run_backfill([str(projects)], memory_delivery(exporter, MeterProvider()), state, False, **options)
    return summary, list(exporter.get_finished_spans())


@pytest.mark.parametrize("progressive", [True, False], ids=["as-written", "whole-files"])
@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_backfill_totals_per_session_are_the_live_agents_and_claude_codes(
    name: str, progressive: bool, tmp_path: Path
) -> None:
    capture = CAPTURES[name]
    summary, spans = _backfill(capture / "transcripts", tmp_path)
    ours = _totals(_answered(spans))
    assert ours == _totals(_live(capture, tmp_path, progressive))
    states = _last_cost_states(capture / "transcripts")
    assert states and {session for session, _ in ours} == {s for s, state in states.items() if state["totalCostUSD"]}
    for session_id, state in states.items():
        for model, figures in state["modelUsage"].items():
            got = ours.get((session_id, model), [0] * 4)[:4]
            assert got == [figures[k] for k in STATE_TOKENS], (session_id, model)
        cost = sum(row[4] for (session, _), row in ours.items() if session == session_id)
        assert cost == pytest.approx(state["totalCostUSD"], rel=1e-9)  # the fixtures' prices are ours
    unseen = [a for a in _answered(spans) if a.get(sc.CC_LLM_SOURCE) == sc.LLM_SOURCE_COST_STATE]
    # main: /compact's summarising call. esc-streaming: 12 output tokens more in Claude Code's cost-state line than
    # in the lines; the response stopped while it streamed has the usage of the stream's start (1 output token) in
    # its line, so these are evidently Claude Code's count of the text that had streamed.
    assert len(unseen) == summary.calls_from_cost_state == (1 if name in ("main", "esc-streaming") else 0)


# --- hand-made sessions: two runs, a subagent in each, a call each run that no transcript line shows ------------

SESSION = "33333333-aaaa-4bbb-8ccc-000000000003"
OPUS, HAIKU = "claude-opus-4-6", "claude-haiku-4-5"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
# Token figures as a cost-state line has them: input, output, cache read, cache write (1 h).
A, B, C = (100, 10, 1000, 50), (30, 3, 2000, 0), (40, 4, 3000, 10)  # main responses: A, B in run 1, C in run 2
S1, S2 = (20, 5, 0, 0), (60, 6, 0, 0)  # a subagent's response in each run
U1, U2 = (7, 2, 300, 4), (11, 3, 500, 0)  # what each run's cost-state line shows more than its lines


def _sum(*parts: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sum(values) for values in zip(*parts, strict=True))


def _cost_state(totals: dict[str, tuple[int, ...]]) -> str:
    models = {
        model: {
            "inputTokens": i,
            "outputTokens": o,
            "cacheReadInputTokens": r,
            "cacheCreationInputTokens": w,
            "cacheCreationEphemeral5mInputTokens": 0,
            "cacheCreationEphemeral1hInputTokens": w,
            "costUSD": 0.0,
        }
        for model, (i, o, r, w) in totals.items()
    }
    return dumps({"type": "cost-state", "sessionId": SESSION, "totalCostUSD": 0.0, "modelUsage": models})


def _write(projects: Path, stage: int) -> Path:
    """The session as it stood: 1 after run 1, 2 in the middle of run 2 (no cost-state line yet), 3 after it."""
    directory = projects / "-home-dev-runs"
    main = SessionWriter(SESSION)
    main.prompt("p1", T0)
    main.response(OPUS, T0 + timedelta(seconds=1), usage(A[0], A[1], A[2], 0, A[3]), blocks=2)
    main.response(OPUS, T0 + timedelta(seconds=5), usage(B[0], B[1], B[2], 0, B[3]))
    main.raw(_cost_state({OPUS: _sum(A, B, U1), HAIKU: S1}))
    first = SessionWriter(SESSION, agent_id="a1", sidechain=True)
    first.prompt("p1", T0 + timedelta(seconds=2))
    first.response(HAIKU, T0 + timedelta(seconds=3), usage(*S1[:3], 0, S1[3]))
    second = SessionWriter(SESSION, agent_id="a2", sidechain=True)
    if stage >= 2:
        main.prompt("p2", T0 + HOUR)
        main.response(OPUS, T0 + HOUR + timedelta(seconds=1), usage(C[0], C[1], C[2], 0, C[3]))
        second.prompt("p2", T0 + HOUR + timedelta(seconds=2))
        second.response(HAIKU, T0 + HOUR + timedelta(seconds=3), usage(*S2[:3], 0, S2[3]))
        second.write(str(directory / SESSION / "subagents" / "agent-a2.jsonl"))
    if stage >= 3:
        main.raw(_cost_state({OPUS: _sum(A, B, U1, C, U2), HAIKU: _sum(S1, S2)}))
    first.write(str(directory / SESSION / "subagents" / "agent-a1.jsonl"))
    return Path(main.write(str(directory / f"{SESSION}.jsonl")))


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _tokens(chat: dict[str, Any]) -> tuple[int, ...]:
    return tuple(chat[key] for key in TOKENS)


def _by_id(spans: list[ReadableSpan]) -> dict[int, dict[str, Any]]:
    return {s.context.span_id: {**_attrs(s), "times": (s.start_time, s.end_time)} for s in spans if s.context}


def test_each_runs_unseen_call_counts_only_what_that_run_did_beyond_its_lines(tmp_path: Path) -> None:
    """Run 2's subagent is counted in run 2 (not in run 1, where the whole file would put it on a first read):
    each cost-state line shows exactly one call no line shows, and the session's total is Claude Code's."""
    main = _write(tmp_path / "projects", 3)
    summary, spans = _backfill(tmp_path / "projects", tmp_path / "run")
    chats = _answered(spans)
    unseen = [c for c in chats if c.get(sc.CC_LLM_SOURCE) == sc.LLM_SOURCE_COST_STATE]
    assert [(_tokens(c), c[sc.CC_PROMPT_ID], c[sc.GEN_AI_RESPONSE_MODEL]) for c in unseen] == [
        (U1, "p1", OPUS),
        (U2, "p2", OPUS),
    ]
    assert summary.calls_from_cost_state == 2 and summary.calls_new == 7
    opus = _sum(*(_tokens(c) for c in chats if c[sc.GEN_AI_RESPONSE_MODEL] == OPUS))
    haiku = _sum(*(_tokens(c) for c in chats if c[sc.GEN_AI_RESPONSE_MODEL] == HAIKU))
    assert (opus, haiku) == (_sum(A, B, U1, C, U2), _sum(S1, S2))
    # Where the agent puts a call it reads from a cost-state line: at the end of the main transcript's last call
    # before the line (B in run 1, C in run 2).
    times = [(s.start_time, s.end_time) for s in spans if _attrs(s).get(sc.CC_LLM_SOURCE)]
    ends = [_ns(T0 + timedelta(seconds=5)), _ns(T0 + HOUR + timedelta(seconds=1))]
    assert times == [(end, end) for end in ends] and main.exists()


def test_a_growing_session_backfilled_at_every_stage_exports_each_call_once(tmp_path: Path) -> None:
    """Backfilled after run 1, in the middle of run 2 and after it (one ledger): the spans of the three runs are
    those of one run over the finished session, each once, the later cost-state line read with the files before it."""
    whole = _by_id(_backfill(_write(tmp_path / "whole", 3).parents[1], tmp_path / "one")[1])
    projects, state, seen = tmp_path / "projects", tmp_path / "state", {}
    exporter = InMemorySpanExporter()
    for stage in (1, 2, 3):
        _write(projects, stage)
        run_backfill([str(projects)], memory_delivery(exporter, MeterProvider()), str(state), False)
        for span_id, attributes in _by_id(list(exporter.get_finished_spans())).items():
            assert span_id not in seen, f"exported twice: {attributes.get(sc.GEN_AI_RESPONSE_ID)}"
            seen[span_id] = attributes
        exporter.clear()
    assert seen == whole and len(whole) == 7


def test_a_main_transcript_backfilled_alone_counts_its_subagents_from_disk(tmp_path: Path) -> None:
    main = _write(tmp_path / "projects", 3)
    exporter = InMemorySpanExporter()
    run_backfill([str(main)], memory_delivery(exporter, MeterProvider()), str(tmp_path / "state"), False)
    unseen = [c for c in _answered(exporter.get_finished_spans()) if c.get(sc.CC_LLM_SOURCE)]
    assert [_tokens(c) for c in unseen] == [U1, U2]


class _Flaky(SpanExporter):
    """Acknowledges the first `accept` exports (a batch each), then fails every one."""

    def __init__(self, accept: int) -> None:
        self.accept = accept
        self.spans: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.accept <= 0:
            return SpanExportResult.FAILURE
        self.accept -= 1
        self.spans += [s.context.span_id for s in spans if s.context is not None]
        return SpanExportResult.SUCCESS


@pytest.mark.parametrize("accept", range(5))
def test_a_run_stopped_at_any_batch_then_a_rerun_exports_every_call_once(accept: int, tmp_path: Path) -> None:
    """A batch per file (the main transcript's calls, each subagent's, then the calls the cost-state lines show),
    the receiver gone after `accept` of them: nothing unacknowledged is recorded, and the rerun exports exactly what
    is left, the calls only cost-state lines show among them."""
    projects, state = tmp_path / "projects", str(tmp_path / "state")
    _write(projects, 3)
    whole = _by_id(_backfill(projects, tmp_path / "one")[1])
    assert len(whole) == 7 and sum(bool(a.get(sc.CC_LLM_SOURCE)) for a in whole.values()) == 2
    first = _Flaky(accept)
    delivery = Delivery(MeterProvider(), Resource.create({}), first, lambda: True, retry_for_s=0.0)
    stopped = run_backfill([str(projects)], delivery, state, False, batch_calls=1)
    assert (stopped.failure is not None) == (accept < 4)
    assert stopped.calls_exported == len(first.spans) and stopped.calls_remaining == len(whole) - len(first.spans)
    second = InMemorySpanExporter()
    rerun = run_backfill([str(projects)], memory_delivery(second, MeterProvider()), state, False)
    again = [s.context.span_id for s in second.get_finished_spans() if s.context is not None]
    assert rerun.calls_exported == stopped.calls_remaining == len(again)
    assert sorted(first.spans + again) == sorted(whole)


def test_a_failed_requests_span_carries_no_free_text(tmp_path: Path) -> None:
    """The error type of an API error line is free text as far as we know: only its bounded form is exported, and
    a subagent's failed request belongs to its session."""
    secret = "Jane Doe's diagnosis at /home/jane"
    main = _write(tmp_path / "projects", 1)
    agent = main.parent / SESSION / "subagents" / "agent-a1.jsonl"
    line = {
        "type": "assistant",
        "isApiErrorMessage": True,
        "apiErrorStatus": 529,
        "apiErrorType": secret,
        "error": secret,
        "requestId": "req_failed",
        "agentId": "a1",
        "sessionId": SESSION,
        "cwd": "/home/dev/project",
        "timestamp": "2026-11-20T10:00:04.000Z",
        "message": {"id": "m-failed", "model": "<synthetic>", "usage": usage(0, 0), "content": [{"text": secret}]},
    }
    with agent.open("a", encoding="utf-8") as handle:
        handle.write(dumps(line) + "\n")
    summary, spans = _backfill(tmp_path / "projects", tmp_path / "run")
    (failed,) = [s for s in spans if sc.ERROR_TYPE in _attrs(s)]
    attributes = _attrs(failed)
    assert attributes[sc.ERROR_TYPE] == error_classes.OTHER and attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 529
    assert attributes[sc.SESSION_ID] == SESSION and attributes[sc.GEN_AI_AGENT_ID] == "a1"
    assert attributes[sc.CC_PROJECT] == "project" and attributes[sc.CC_BACKFILL] is True
    assert "Jane" not in json.dumps({**attributes, "status": failed.status.description})
    assert summary.api_errors_new == summary.api_errors_exported == 1


def test_the_shared_counting_adds_a_superseding_line_once_and_takes_a_lower_total_as_a_new_count() -> None:
    """live/unseen_calls.py, which backfill and the agent (on its TranscriptState) both count with."""
    from otel_claude.live.state import TranscriptState
    from otel_claude.live.unseen_calls import note_call, unseen_usage
    from otel_claude.transcripts.model import CostState, LlmCall, ModelUsage, Usage

    def state(offset: int, i: int, o: int, r: int, w: int) -> CostState:
        figures = ModelUsage(i, o, r, w, 0.0, cache_creation_5m_tokens=0, cache_creation_1h_tokens=w)
        return CostState(SESSION, 0.0, {OPUS: figures}, False, offset=offset)

    counts = TranscriptState(session_id=SESSION)
    placeholder = Usage(1, 2, 0, 0)
    final = Usage(10, 20, 30, 4, 0, 4)
    note_call(counts, LlmCall(SESSION, OPUS, placeholder, 0, 0, message_id="m"))
    note_call(counts, LlmCall(SESSION, OPUS, final, 0, 0, message_id="m", replaces=placeholder))  # the better line
    assert counts.seen_tokens == {OPUS: [10, 20, 30, 0, 4]}
    (unseen,) = unseen_usage(counts, state(100, 15, 20, 30, 4)).values()
    assert unseen == Usage(5, 0, 0, 0, 0, 0)  # only the input grew beyond what the lines showed
    assert counts.seen_tokens == {} and counts.cost_state_tokens == {OPUS: [15, 20, 30, 0, 4]}
    # Claude Code counting from zero again (a new process): its whole figure is the growth.
    (again,) = unseen_usage(counts, state(200, 3, 1, 0, 0)).values()
    assert (again.input_tokens, again.output_tokens) == (3, 1)


def test_the_live_agent_reading_the_finished_session_whole_counts_each_run_as_backfill_does(tmp_path: Path) -> None:
    """A replay or a backlog: the agent reads the main transcript whole, and at run 1's cost-state line the
    subagent files hold run 2's subagent too. Its calls count for run 2's line (as backfill counts them), so run
    2's unseen call is U2, not U2 plus that subagent's tokens again."""
    main = _write(tmp_path / "projects", 3)
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    run = LiveRun(tracer_provider, MeterProvider())
    base = {"session_id": SESSION, "transcript_path": str(main), "cwd": "/home/dev/runs"}
    at = _ns(T0 + 2 * HOUR)
    run.handle({**base, "hook_event_name": "SessionStart", "source": "resume"}, at)
    run.handle({**base, "hook_event_name": "SessionEnd", "reason": "other"}, at + 1)
    run.settle()
    live = _answered(exporter.get_finished_spans())
    unseen = [c for c in live if c.get(sc.CC_LLM_SOURCE) == sc.LLM_SOURCE_COST_STATE]
    assert [(_tokens(c), c[sc.GEN_AI_RESPONSE_MODEL]) for c in unseen] == [(U1, OPUS), (U2, OPUS)]
    opus = _sum(*(_tokens(c) for c in live if c[sc.GEN_AI_RESPONSE_MODEL] == OPUS))
    haiku = _sum(*(_tokens(c) for c in live if c[sc.GEN_AI_RESPONSE_MODEL] == HAIKU))
    assert (opus, haiku) == (_sum(A, B, U1, C, U2), _sum(S1, S2))
    assert _totals(live) == _totals(_answered(_backfill(tmp_path / "projects", tmp_path / "run")[1]))


def test_held_subagent_calls_count_at_their_runs_line_survive_a_snapshot_and_stay_bounded() -> None:
    from otel_claude.live import unseen_calls
    from otel_claude.live.state import TranscriptState
    from otel_claude.transcripts.model import LlmCall, Usage

    def call(at: int, output: int) -> LlmCall:
        return LlmCall(session_id=SESSION, model=HAIKU, usage=Usage(1, output, 0, 0), timestamp_ns=at, start_ns=at)

    main = TranscriptState(session_id=SESSION)
    for at in (10, 20, 30):
        unseen_calls.hold_call(main, call(at, at))
    main = TranscriptState.model_validate_json(main.model_dump_json())  # as the agent's snapshot keeps it
    unseen_calls.count_held(main, 25)
    assert main.seen_tokens == {HAIKU: [2, 30, 0, 0, 0]} and [held[0] for held in main.held_tokens] == [30]
    unseen_calls.count_held(main, None)
    assert main.seen_tokens == {HAIKU: [3, 60, 0, 0, 0]} and main.held_tokens == []
    for at in range(unseen_calls.MAX_HELD_CALLS + 1):
        unseen_calls.hold_call(main, call(1000 + at, 1))
    assert len(main.held_tokens) == unseen_calls.MAX_HELD_CALLS  # the oldest counted at once
    assert main.seen_tokens[HAIKU] == [4, 61, 0, 0, 0]


def _reported(reader: InMemoryMetricReader) -> dict[str, float]:
    """Claude Code's own reported cost by model, as a reader collected it."""
    totals: dict[str, float] = defaultdict(float)
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == sc.METRIC_REPORTED_COST:
                    for point in metric.data.data_points:
                        totals[str(point.attributes[sc.GEN_AI_REQUEST_MODEL])] += point.value
    return dict(totals)


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_backfill_records_claude_codes_own_cost_as_the_agent_does_once(name: str, tmp_path: Path) -> None:
    capture = CAPTURES[name]
    projects = tmp_path / "projects"
    shutil.copytree(capture / "transcripts", projects)
    live_reader = InMemoryMetricReader()
    run = LiveRun(TracerProvider(), MeterProvider(metric_readers=[live_reader]))
    feed_capture(run, capture, capture_entries(capture), None)
    runs, summaries = [], []
    for _ in range(2):  # the second run finds every line recorded already
        reader = InMemoryMetricReader()
        delivery = memory_delivery(InMemorySpanExporter(), MeterProvider(metric_readers=[reader]))
        summaries.append(run_backfill([str(projects)], delivery, str(tmp_path / "state"), False))
        runs.append(_reported(reader))
    states = _last_cost_states(capture / "transcripts")
    claude_codes = sum(state["totalCostUSD"] for state in states.values())
    assert runs[0] == pytest.approx(_reported(live_reader), rel=1e-12)
    assert sum(runs[0].values()) == pytest.approx(claude_codes, rel=1e-9) and claude_codes > 0
    assert sum(runs[1].values()) == 0
    assert summaries[0].reported_cost_usd == pytest.approx(claude_codes, rel=1e-9)
    assert summaries[1].reported_cost_usd == 0
