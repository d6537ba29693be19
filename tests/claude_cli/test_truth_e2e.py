"""Issue 10 with the real Claude Code CLI: chat spans cover their response's lines, turns carry their calls' totals.

The stand-in streams the content blocks of a response apart (a text block, then a ~100 KB Write 600 ms later), so
the transcript's lines of one response are far apart, and the run ends right after its last response, so Stop
fires before the transcript has its last lines and Claude Code's cost-state line.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from support.otlp_receiver import span_attributes

from otel_claude import semconv as sc
from otel_claude.transcripts.timestamps import parse_timestamp_ns

from .conftest import SandboxFactory
from .harness import ClaudeResult, Sandbox
from .interactive import drive_esc, model_asked, tmux_available
from .otel_run import OtelRun, prometheus_name, run_with_otel_claude

pytestmark = pytest.mark.claude
ALLOW_HOOK = Path(__file__).with_name("allow_after_hook.py")
PERMISSION_WAIT_S = 0.8
ESC_AFTER_S = 2.0
MS = 1_000_000


@pytest.fixture(scope="module")
def otel_run(sandbox_factory: SandboxFactory, claude_version: str) -> Iterator[Callable[[str], OtelRun]]:
    cache: dict[str, OtelRun] = {}

    def get(scenario: str) -> OtelRun:
        if scenario not in cache:
            sandbox = sandbox_factory(claude_version, scenario)
            if scenario == "permission_wait":  # a person who takes PERMISSION_WAIT_S to allow the call
                hook = f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(ALLOW_HOOK))} {PERMISSION_WAIT_S}"
                sandbox.add_command_hook(["PermissionRequest"], hook)
            drive = None
            if scenario == "init_only":
                drive = _init_only
            if scenario == "esc_interrupt":
                if not tmux_available():
                    pytest.skip("tmux is needed to drive an interactive session")
                drive = drive_esc("E2E_ESC: run the slow command", "E2E_ESC: are you there?", ESC_AFTER_S)
            if scenario == "esc_streaming":
                if not tmux_available():
                    pytest.skip("tmux is needed to drive an interactive session")
                first, second = "E2E_ESCSTREAM: tell me a long story", "E2E_ESCSTREAM: are you there?"
                drive = drive_esc(first, second, ESC_AFTER_S, after="UserPromptSubmit", ready=model_asked)
            cache[scenario] = run_with_otel_claude(sandbox, drive=drive)
            for result in cache[scenario].results:
                result.check()
        return cache[scenario]

    yield get
    for run in cache.values():
        run.receiver.stop()


def _init_only(sandbox: Sandbox, record: Path) -> list[ClaudeResult]:
    """`claude --init-only`: Setup and SessionStart fire together, and Setup usually reaches the spool first."""
    started = time.time()
    proc = subprocess.run(
        [str(sandbox.claude), "--init-only"],
        cwd=sandbox.workdir,
        env=sandbox.env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return [ClaudeResult(proc.args, proc.returncode, proc.stdout, proc.stderr, started, time.time() - started)]


def _line_times(paths: list[Path]) -> dict[str, list[int]]:
    """Timestamps of the transcript lines of each response (message id), in file order."""
    times: dict[str, list[int]] = defaultdict(list)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line) if line.strip() else {}
            message = data.get("message") if isinstance(data, dict) else None
            if isinstance(message, dict) and isinstance(message.get("usage"), dict) and message.get("id"):
                stamp = parse_timestamp_ns(data.get("timestamp"))
                assert stamp is not None
                times[str(message["id"])].append(stamp)
    return times


def test_chat_spans_cover_their_response_from_first_to_last_line(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("slow_blocks")
    lines = _line_times(run.sandbox.transcripts())
    chats = run.spans_of_type(sc.SPAN_TYPE_LLM)
    assert {str(span_attributes(c)[sc.GEN_AI_RESPONSE_ID]) for c in chats} == set(lines)
    apart = 0
    for chat in chats:
        times = lines[str(span_attributes(chat)[sc.GEN_AI_RESPONSE_ID])]
        assert chat.end_time_unix_nano == max(times), "the span ends at the response's last line"
        assert chat.start_time_unix_nano <= min(times)
        apart += max(times) - min(times) >= 250_000_000  # the block delays are 600 and 300 ms
    # The fault's condition: a response whose lines are far apart (on a loaded machine the CLI may write the
    # 300 ms one's lines closer together, so one such response is what is required).
    assert apart >= 1, "the stand-in streamed a response's blocks apart"


def _totals(spans: list[Span], key: str) -> float:
    return sum(float(span_attributes(s)[key]) for s in spans)


def test_turn_spans_carry_the_tokens_and_cost_of_their_calls(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("slow_blocks")
    (turn,) = run.spans_of_type(sc.SPAN_TYPE_TURN)
    chats = [c for c in run.spans_of_type(sc.SPAN_TYPE_LLM) if c.trace_id == turn.trace_id]
    assert len(chats) == len(run.transcript_exchanges()) == 3
    attributes = span_attributes(turn)
    for key in (
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    ):
        assert attributes[key] == _totals(chats, key), key
    assert attributes[sc.CC_LLM_CALLS] == 3
    assert attributes[sc.CC_COST_USD] == pytest.approx(_totals(chats, sc.CC_COST_USD), rel=1e-9)
    assert attributes[sc.CC_SESSION_COST_USD] == pytest.approx(attributes[sc.CC_COST_USD], rel=1e-9)
    # Claude Code's own figure (its cost-state line, written after the Stop hooks) is on the turn, and agrees.
    (result,) = run.results
    assert attributes[sc.CC_REPORTED_COST_USD] == pytest.approx(result.json()["total_cost_usd"], rel=1e-9)
    assert attributes[sc.CC_COST_USD] == pytest.approx(result.json()["total_cost_usd"], rel=1e-6)


def test_the_compact_summary_is_counted_in_its_compaction_and_the_compact_turn_completed(
    otel_run: Callable[[str], OtelRun],
) -> None:
    run = otel_run("resume_compact")
    (compact,) = [e for e in run.sandbox.api.model_exchanges() if e.kind == "compact"]
    (summary,) = [c for c in run.spans_of_type(sc.SPAN_TYPE_LLM) if sc.CC_LLM_SOURCE in span_attributes(c)]
    attributes = span_attributes(summary)
    assert attributes[sc.CC_LLM_SOURCE] == sc.LLM_SOURCE_COST_STATE
    usage = compact.response["usage"]
    assert [attributes[k] for k in _TOKEN_KEYS] == [
        usage["input_tokens"],
        usage["output_tokens"],
        usage["cache_read_input_tokens"],
        usage["cache_creation_input_tokens"],
    ]
    (compaction,) = run.spans_of_type(sc.SPAN_TYPE_COMPACTION)
    assert summary.parent_span_id == compaction.span_id and summary.trace_id == compaction.trace_id
    # The bare `/compact` run is a turn that completed; no turn of the scenario is unfinished.
    outcomes = {str(span_attributes(t)[sc.CC_TURN_OUTCOME]) for t in run.spans_of_type(sc.SPAN_TYPE_TURN)}
    assert outcomes == {sc.TURN_COMPLETED}
    assert run.prometheus(prometheus_name(sc.METRIC_TURNS), claude_code_turn_outcome=sc.TURN_UNFINISHED) == 0
    # Our session total equals Claude Code's own (its running total carries across --resume).
    cli_cost = run.results[-1].json()["total_cost_usd"]
    assert _totals(run.spans_of_type(sc.SPAN_TYPE_LLM), sc.CC_COST_USD) == pytest.approx(cli_cost, rel=1e-6)


_TOKEN_KEYS = (
    sc.CC_UNCACHED_INPUT_TOKENS,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
)


def test_tool_spans_split_into_the_wait_on_the_user_and_the_execution(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("permission_wait")
    calls, tools = run.tool_calls(), run.tool_spans()
    assert {c.name for c in calls.values()} == {"Bash", "Read"} and all(c.duration_ms for c in calls.values())
    spans = run.spans()
    for tool_use_id, call in calls.items():
        tool = tools[tool_use_id]
        children = {span_attributes(s)[sc.CC_SPAN_TYPE]: s for s in spans if s.parent_span_id == tool.span_id}
        execution = children[sc.SPAN_TYPE_TOOL_EXECUTION]
        assert execution.end_time_unix_nano == tool.end_time_unix_nano
        assert call.duration_ms is not None
        took = execution.end_time_unix_nano - execution.start_time_unix_nano
        assert abs(took - call.duration_ms * MS) <= MS, "the execution child is Claude Code's duration_ms"
        if call.name == "Bash":  # asked for permission: the wait ends where the execution starts
            wait = children[sc.SPAN_TYPE_PERMISSION_WAIT]
            assert span_attributes(wait)[sc.CC_PERMISSION_DECISION] == sc.PERMISSION_GRANTED
            assert wait.end_time_unix_nano == execution.start_time_unix_nano
            assert wait.end_time_unix_nano - wait.start_time_unix_nano >= PERMISSION_WAIT_S * 1e9 - 50 * MS
        else:
            assert sc.SPAN_TYPE_PERMISSION_WAIT not in children
    # The histogram measures execution: its sum is the sum of duration_ms, not of the hooks' intervals.
    duration = prometheus_name(sc.METRIC_TOOL_DURATION, "_seconds", counter=False)
    executed = sum((c.duration_ms or 0) for c in calls.values()) / 1000
    assert run.prometheus(duration + "_sum") == pytest.approx(executed, abs=1e-6)
    wait = prometheus_name(sc.METRIC_PERMISSION_WAIT, "_seconds", counter=False)
    assert run.prometheus(wait + "_count", gen_ai_tool_name="Bash", claude_code_permission_decision="granted") == 1
    assert run.prometheus(wait + "_sum") >= PERMISSION_WAIT_S - 0.05


def test_a_call_stopped_with_esc_is_interrupted_at_its_real_end(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("esc_interrupt")
    (call,) = run.tool_calls().values()
    assert call.ended is None, "2.1.330 fires no PostToolUseFailure on Esc"
    tool = run.tool_spans()[call.tool_use_id]
    attributes = span_attributes(tool)
    assert attributes[sc.CC_TOOL_OUTCOME] == sc.OUTCOME_INTERRUPTED and attributes[sc.ERROR_TYPE] == "interrupted"
    (transcript,) = run.sandbox.transcripts()
    rejected = next(
        json.loads(line)
        for line in transcript.read_text(encoding="utf-8").splitlines()
        if "doesn't want to proceed" in line and call.tool_use_id in line
    )
    assert tool.end_time_unix_nano == parse_timestamp_ns(rejected["timestamp"]), "the Esc's time, from the transcript"
    took = (tool.end_time_unix_nano - tool.start_time_unix_nano) / 1e9
    assert ESC_AFTER_S - 0.5 <= took <= ESC_AFTER_S + 1.5, "not stretched to the next prompt"
    tool_calls = prometheus_name(sc.METRIC_TOOL_CALLS)
    assert run.prometheus(tool_calls, gen_ai_tool_name="Bash", claude_code_tool_outcome="interrupted") == 1
    outcomes = sorted(
        (t.start_time_unix_nano, span_attributes(t)[sc.CC_TURN_OUTCOME]) for t in run.spans_of_type(sc.SPAN_TYPE_TURN)
    )
    assert [o for _, o in outcomes] == [sc.TURN_INTERRUPTED, sc.TURN_COMPLETED]


def test_init_only_setup_before_session_start_still_opens_a_startup_session(otel_run: Callable[[str], OtelRun]) -> None:
    run = otel_run("init_only")
    starts = run.events("SessionStart")
    assert starts and run.events("Setup"), "--init-only fires Setup and SessionStart"
    order = [h["event"] for h in run.hooks]
    (session,) = run.spans_of_type(sc.SPAN_TYPE_SESSION)
    attributes = span_attributes(session)
    # Whatever order the concurrent hooks reached the spool in (recorded here: order), the answer is the same.
    assert attributes[sc.CC_SESSION_SOURCE] == starts[0]["source"], order
    assert attributes.get(sc.CC_UNFINISHED) is False and sc.CC_CLOSED_BY not in attributes, order
    sessions = prometheus_name(sc.METRIC_SESSIONS)
    assert run.prometheus(sessions, claude_code_session_source="unknown") == 0
    assert run.prometheus(sessions) == 1


def test_esc_while_the_model_answers_ends_the_turn_and_the_response_at_the_esc(
    otel_run: Callable[[str], OtelRun],
) -> None:
    """No tool runs, no hook fires: the turn ends interrupted at the Esc (not unfinished at the next prompt), and
    the response that was still streaming ends there too."""
    run = otel_run("esc_streaming")
    events = [h["event"] for h in run.hooks]
    assert events.count("UserPromptSubmit") == 2 and events.count("Stop") == 1, "2.1.330 fires nothing on Esc"
    (transcript,) = run.sandbox.transcripts()
    lines = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    (stopped,) = [line for line in lines if "interruptedMessageId" in line]
    esc_ns = parse_timestamp_ns(stopped["timestamp"])
    assert esc_ns is not None
    first, second = sorted(run.spans_of_type(sc.SPAN_TYPE_TURN), key=lambda t: t.start_time_unix_nano)
    assert span_attributes(first)[sc.CC_TURN_OUTCOME] == sc.TURN_INTERRUPTED
    assert first.end_time_unix_nano == esc_ns and span_attributes(second)[sc.CC_TURN_OUTCOME] == sc.TURN_COMPLETED
    (cut,) = [
        s
        for s in run.spans_of_type(sc.SPAN_TYPE_LLM)
        if span_attributes(s).get(sc.GEN_AI_RESPONSE_ID) == stopped["interruptedMessageId"]
    ]
    assert cut.end_time_unix_nano == esc_ns and cut.parent_span_id == first.span_id
    # The driver waits 1.5 s after the Esc before the next prompt: the turn is not stretched to it.
    assert first.end_time_unix_nano <= second.start_time_unix_nano - 1_000_000_000
    turns = prometheus_name(sc.METRIC_TURNS)
    assert run.prometheus(turns, claude_code_turn_outcome="interrupted") == 1
    assert run.prometheus(turns, claude_code_turn_outcome="unfinished") == 0
