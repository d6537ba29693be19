"""otel-claude end to end with the real Claude Code CLI: install, run a scenario, check what was exported.

Each scenario runs once (module-scoped) with `otel-claude install` in a temporary HOME, its own agent, OTLP
receiver and Prometheus port; the tests compare the spans and metrics with the ground truth: the recording hook
(what Claude Code did and when), the stand-in (the usage it reported) and the CLI's own cost figure.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from support.otlp_receiver import span_attributes

from otel_claude import semconv as sc
from otel_claude.transcripts.prices import bundled_table, find_price

from .conftest import SandboxFactory
from .harness import DUMMY_API_KEY
from .otel_run import OtelRun, otlp_metric_total, prometheus_name, run_with_otel_claude
from .planted import leaked

pytestmark = pytest.mark.claude

SCENARIOS = ["tools_ok", "tools_fail", "subagent_parallel", "permission_denied", "resume_compact", "concurrent"]
TIME_TOLERANCE_S = 0.5  # two hook processes spawned for the same event; 2 slow cores


@pytest.fixture(scope="module")
def otel_run(sandbox_factory: SandboxFactory, claude_version: str) -> Iterator[Callable[[str], OtelRun]]:
    cache: dict[str, OtelRun] = {}

    def get(scenario: str) -> OtelRun:
        if scenario not in cache:
            cache[scenario] = run_with_otel_claude(sandbox_factory(claude_version, scenario))
            for result in cache[scenario].results:
                result.check()
        return cache[scenario]

    yield get
    for run in cache.values():
        run.receiver.stop()


def _start(span: Span) -> float:
    return span.start_time_unix_nano / 1e9


def _end(span: Span) -> float:
    return span.end_time_unix_nano / 1e9


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_span_tree(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    spans, by_id = run.spans(), run.by_id()
    turns = run.spans_of_type(sc.SPAN_TYPE_TURN)
    # A turn per prompt id: each UserPromptSubmit, and also a bare `/compact`, which has a prompt id but no
    # UserPromptSubmit.
    prompt_ids = {h["payload"]["prompt_id"] for h in run.hooks if h["payload"].get("prompt_id")}
    assert Counter(str(span_attributes(t).get(sc.CC_PROMPT_ID)) for t in turns) == Counter(dict.fromkeys(prompt_ids, 1))
    assert {t.name for t in turns} == {sc.turn_span_name()}
    assert all(t.parent_span_id == b"" for t in turns), "a turn is the root of its trace"
    calls, tool_spans = run.tool_calls(), run.tool_spans()
    assert set(tool_spans) == set(calls), "one span per tool call, named by its tool_use_id"
    assert len([s for s in spans if span_attributes(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]) == len(calls)
    agent_spans = {str(span_attributes(s).get(sc.GEN_AI_AGENT_ID)): s for s in run.spans_of_type(sc.SPAN_TYPE_SUBAGENT)}
    for tool_use_id, call in calls.items():
        span = tool_spans[tool_use_id]
        assert span.name == sc.tool_span_name(call.name)
        assert span_attributes(span)[sc.SESSION_ID] == call.session_id
        parent = by_id[span.parent_span_id]
        if call.agent_id is None:
            assert parent in turns and parent.trace_id == span.trace_id
            assert span_attributes(parent)[sc.SESSION_ID] == call.session_id
        else:  # a subagent's tool call nests under the subagent, which nests under the Agent tool call
            assert parent == agent_spans[call.agent_id]
            assert by_id[parent.parent_span_id].name == sc.tool_span_name("Agent")


def test_subagent_span(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("subagent_parallel")
    (start,) = run.events("SubagentStart")
    (subagent,) = run.spans_of_type(sc.SPAN_TYPE_SUBAGENT)
    assert subagent.name == sc.subagent_span_name("general-purpose")
    assert span_attributes(subagent)[sc.GEN_AI_AGENT_ID] == start["agent_id"]
    inner = [s.name for s in run.spans() if s.parent_span_id == subagent.span_id]
    assert Counter(inner) == Counter(
        {sc.tool_span_name("Bash"): 1, sc.tool_span_name("Read"): 1, sc.chat_span_name("claude-opus-5-5"): 3}
    )
    agent_call = run.by_id()[subagent.parent_span_id]
    assert (
        _start(agent_call) <= _start(subagent) + TIME_TOLERANCE_S
        and _end(subagent) <= _end(agent_call) + TIME_TOLERANCE_S
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_llm_call_spans(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    # The compaction summary, which only Claude Code's cost-state line shows, is checked in test_truth_e2e.py.
    chats = [c for c in run.spans_of_type(sc.SPAN_TYPE_LLM) if sc.CC_LLM_SOURCE not in span_attributes(c)]
    exchanges = {e.response["id"]: e for e in run.transcript_exchanges()}
    got = Counter(str(span_attributes(c).get(sc.GEN_AI_RESPONSE_ID)) for c in chats)
    assert got == Counter(dict.fromkeys(exchanges, 1)), "one chat span per API response, none twice"
    by_id = run.by_id()
    for chat in chats:
        exchange = exchanges[str(span_attributes(chat)[sc.GEN_AI_RESPONSE_ID])]
        assert chat.name == sc.chat_span_name(exchange.response["model"])
        parent = by_id[chat.parent_span_id]
        expected = sc.SPAN_TYPE_SUBAGENT if exchange.conversation.startswith("SUBAGENT_") else sc.SPAN_TYPE_TURN
        assert span_attributes(parent)[sc.CC_SPAN_TYPE] == expected
        assert _start(parent) - TIME_TOLERANCE_S <= _start(chat) and _end(chat) <= _end(parent) + TIME_TOLERANCE_S


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_durations_follow_the_hook_times(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    tool_spans = run.tool_spans()
    for tool_use_id, call in run.tool_calls().items():
        span = tool_spans[tool_use_id]
        assert abs(_start(span) - call.started) <= TIME_TOLERANCE_S, call.name
        if call.ended is not None:
            assert abs(_end(span) - call.ended) <= TIME_TOLERANCE_S, call.name
        if call.duration_ms is not None:  # Claude Code's own measure of the tool's run lies inside the hooks' interval
            assert _end(span) - _start(span) >= call.duration_ms / 1000 - 0.005, call.name
    turns = run.spans_of_type(sc.SPAN_TYPE_TURN)
    by_prompt = {span_attributes(t).get(sc.CC_PROMPT_ID): t for t in turns}
    for event in ("UserPromptSubmit", "Stop"):
        for record in (h for h in run.hooks if h["event"] == event):
            turn = by_prompt[record["payload"]["prompt_id"]]
            edge = _start(turn) if event == "UserPromptSubmit" else _end(turn)
            assert abs(edge - _iso(record["ts"])) <= TIME_TOLERANCE_S, event
    for span in tool_spans.values():
        turn = next(t for t in turns if t.span_id == span.parent_span_id or t.trace_id == span.trace_id)
        assert _start(turn) <= _start(span) and _end(span) <= _end(turn)


def _iso(ts: str) -> float:
    return datetime.datetime.fromisoformat(ts).timestamp()


@pytest.mark.parametrize("scenario", ["tools_ok", "tools_fail", "permission_denied"])
def test_outcomes_and_error_statuses(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    tool_spans = run.tool_spans()
    for tool_use_id, call in run.tool_calls().items():
        span, attributes = tool_spans[tool_use_id], span_attributes(tool_spans[tool_use_id])
        assert attributes[sc.CC_TOOL_OUTCOME] == call.outcome, call.name
        if call.outcome == sc.OUTCOME_ERROR:
            assert span.status.code == Status.STATUS_CODE_ERROR and attributes.get(sc.ERROR_TYPE), call.name
        elif call.outcome == sc.OUTCOME_SUCCESS:
            assert span.status.code != Status.STATUS_CODE_ERROR, call.name
    if scenario == "tools_fail":
        assert Counter(c.outcome for c in run.tool_calls().values()) == {sc.OUTCOME_ERROR: 2}
    if scenario == "permission_denied":
        assert [c.outcome for c in run.tool_calls().values()] == [sc.OUTCOME_PERMISSION_DENIED]
        assert run.prometheus(prometheus_name(sc.METRIC_PERMISSION_REQUESTS), gen_ai_tool_name="Bash") == 1


def _expected_usage(run: OtelRun) -> tuple[dict[str, int], float]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    cost = 0.0
    table = bundled_table()
    for exchange in run.sandbox.api.model_exchanges():  # the compaction summary too: it is counted (cost-state)
        usage, model = exchange.response["usage"], exchange.response["model"]
        price = find_price(table, model)
        assert price is not None, f"no price for {model}"
        rates, split = price.rates, usage["cache_creation"]
        totals["input"] += usage["input_tokens"]
        totals["output"] += usage["output_tokens"]
        totals["cache_read"] += usage["cache_read_input_tokens"]
        totals["cache_creation"] += usage["cache_creation_input_tokens"]
        cost += (
            usage["input_tokens"] * rates.input
            + usage["output_tokens"] * rates.output
            + split["ephemeral_5m_input_tokens"] * rates.cache_write_5m
            + split["ephemeral_1h_input_tokens"] * rates.cache_write_1h
            + usage["cache_read_input_tokens"] * rates.cache_read
        ) / 1e6
    return totals, cost


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tokens_and_cost_equal_what_the_stand_in_reported(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    expected, expected_cost = _expected_usage(run)
    chats = [span_attributes(c) for c in run.spans_of_type(sc.SPAN_TYPE_LLM)]
    got = {
        "input": sum(c[sc.CC_UNCACHED_INPUT_TOKENS] for c in chats),
        "output": sum(c[sc.GEN_AI_USAGE_OUTPUT_TOKENS] for c in chats),
        "cache_read": sum(c[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] for c in chats),
        "cache_creation": sum(c[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] for c in chats),
    }
    assert got == expected
    # The GenAI convention's input_tokens is the whole prompt: uncached + cache reads + cache writes.
    assert sum(c[sc.GEN_AI_USAGE_INPUT_TOKENS] for c in chats) == sum(
        expected[k] for k in ("input", "cache_read", "cache_creation")
    )
    assert sum(c[sc.CC_COST_USD] for c in chats) == pytest.approx(expected_cost, rel=1e-6)
    # Claude Code's own cost figure, the compaction call included (its running total carries across --resume).
    cli_cost = sum({r.json()["session_id"]: r.json()["total_cost_usd"] for r in run.results}.values())
    assert expected_cost == pytest.approx(cli_cost, rel=1e-6)
    tokens = prometheus_name(sc.METRIC_TOKENS)
    kinds = {
        "input": sc.TOKEN_KIND_INPUT,
        "output": sc.TOKEN_KIND_OUTPUT,
        "cache_read": sc.TOKEN_KIND_CACHE_READ,
        "cache_creation": sc.TOKEN_KIND_CACHE_CREATION,
    }
    for key, kind in kinds.items():
        assert run.prometheus(tokens, claude_code_token_kind=kind) == expected[key], kind
        assert otlp_metric_total(run.receiver, sc.METRIC_TOKENS, **{sc.CC_TOKEN_KIND: kind}) == expected[key], kind
    assert run.prometheus(prometheus_name(sc.METRIC_COST, "_USD")) == pytest.approx(expected_cost, rel=1e-6)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_prometheus_counts_what_happened(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    calls = Counter((c.name, c.outcome, "subagent" if c.agent_id else "main") for c in run.tool_calls().values())
    tool_calls = prometheus_name(sc.METRIC_TOOL_CALLS)
    for (tool, outcome, kind), count in calls.items():
        labels = {"gen_ai_tool_name": tool, "claude_code_tool_outcome": outcome, "claude_code_agent_kind": kind}
        assert run.prometheus(tool_calls, **labels) == count, labels
    assert run.prometheus(tool_calls) == sum(calls.values())
    events = Counter(h["event"] for h in run.hooks)
    for event, count in events.items():
        assert run.prometheus(prometheus_name(sc.METRIC_HOOK_EVENTS), claude_code_hook_event=event) == count, event
    # Compaction runs as a pseudo-subagent (a SubagentStop with no start and agent_type ""): not a subagent.
    assert run.prometheus(prometheus_name(sc.METRIC_SUBAGENTS)) == events["SubagentStart"]
    assert run.prometheus(prometheus_name(sc.METRIC_COMPACTIONS)) == events["PreCompact"]
    assert "session.id" not in run.prometheus_text and "session_id" not in run.prometheus_text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_nothing_sensitive_is_exported(otel_run: Callable[[str], OtelRun], scenario: str) -> None:
    run = otel_run(scenario)
    exported = run.receiver.raw_bytes()
    assert exported, "the receiver got nothing"
    # The planted secrets did pass through otel-claude's hook (prompts, commands, tool inputs and outputs).
    scripted = json.dumps(
        [list(s.content) for s in run.sandbox.scenario.steps] + [r.prompt for r in run.sandbox.scenario.runs]
    )
    assert set(leaked(json.dumps(run.hooks))) == set(leaked(scripted))
    assert leaked(exported) == [] and leaked(run.prometheus_text) == []
    assert DUMMY_API_KEY.encode() not in exported and DUMMY_API_KEY not in run.prometheus_text
    # Content capture is off by default: no prompt and no file content leaves the machine.
    for prompt in (r.prompt for r in run.sandbox.scenario.runs if not r.prompt.startswith("/")):
        assert prompt.encode() not in exported
    assert b"alpha line" not in exported and b"written by A" not in exported
