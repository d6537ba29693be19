"""The real hook and agent processes: replay each fixture session into an OTLP receiver and Prometheus."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SESSION_NAMES, SESSIONS, load_session
from support.otlp_receiver import OtlpReceiver, free_port, span_attributes
from support.processes import metric_value, otel_claude_cmd, production_env, run_hook, scrape, stop_agent, wait_for

from otel_claude import semconv as sc
from otel_claude.handoff import spool

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def agent_env(tmp_path: Path, receiver: OtlpReceiver) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("OTEL_") and key != "OTEL_CLAUDE_DEBUG":
            del env[key]
    env.update(
        HOME=str(tmp_path / "home"),
        OTEL_CLAUDE_STATE_DIR=str(tmp_path / "state"),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_PROMETHEUS_PORT=str(free_port()),
        OTEL_METRIC_EXPORT_INTERVAL="500",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    yield env
    stop_agent(env["OTEL_CLAUDE_STATE_DIR"], env)


def replay(name: str, env: dict[str, str], *extra: str) -> None:
    result = otel_claude_cmd(
        "replay",
        str(SESSIONS / name / "hooks.jsonl"),
        "--transcripts-root",
        str(SESSIONS / name / "transcripts"),
        *extra,
        env=env,
    )
    assert result.returncode == 0, result.stderr


def expected_tool_calls(name: str) -> Counter[tuple[str, str]]:
    """(tool, outcome) per tool_use_id, from the fixture's own events."""
    entries = load_session(name)
    ends = {
        e["payload"]["tool_use_id"]: e
        for e in entries
        if e["event"] in ("PostToolUse", "PostToolUseFailure", "PermissionDenied")
    }
    counts: Counter[tuple[str, str]] = Counter()
    for entry in entries:
        if entry["event"] != "PreToolUse":
            continue
        end = ends.get(entry["payload"]["tool_use_id"])
        if end is None:
            outcome = sc.OUTCOME_PERMISSION_DENIED  # in these fixtures, the calls that never ran were refused
        elif end["event"] == "PostToolUseFailure":
            outcome = sc.OUTCOME_INTERRUPTED if end["payload"].get("is_interrupt") else sc.OUTCOME_ERROR
        else:
            outcome = {"PostToolUse": sc.OUTCOME_SUCCESS, "PermissionDenied": sc.OUTCOME_PERMISSION_DENIED}[
                end["event"]
            ]
        counts[(entry["payload"]["tool_name"], outcome)] += 1
    return counts


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_replay_exports_one_span_per_tool_call_and_matching_metrics(
    name: str, receiver: OtlpReceiver, agent_env: dict[str, str]
) -> None:
    replay(name, agent_env, "--wait", "--timeout", "60")
    spans = receiver.spans()
    tool_ids = [
        span_attributes(s)[sc.GEN_AI_TOOL_CALL_ID] for s in spans if span_attributes(s).get(sc.CC_SPAN_TYPE) == "tool"
    ]
    expected = expected_tool_calls(name)
    assert Counter(tool_ids).most_common(1)[0][1] == 1 if tool_ids else True
    assert len(tool_ids) == sum(expected.values())
    resource = receiver.resource_attributes()
    assert resource["service.name"] == "claude-code" and resource["user.name"] and resource["host.name"]
    prometheus = f"http://127.0.0.1:{agent_env['OTEL_EXPORTER_PROMETHEUS_PORT']}/metrics"
    text = scrape(prometheus)
    for (tool, outcome), count in expected.items():
        got = metric_value(
            text, "otel_claude_tool_calls_total", gen_ai_tool_name=tool, claude_code_tool_outcome=outcome
        )
        assert got == count, (tool, outcome)
    events = Counter(e["event"] for e in load_session(name))
    for event, count in events.items():
        assert metric_value(text, "otel_claude_hook_events_total", claude_code_hook_event=event) == count
    assert metric_value(text, "otel_claude_sessions_total") == events["SessionStart"] - _mid_run_starts(name)
    wait_for(lambda: sc.METRIC_TOOL_CALLS in receiver.metric_names(), 20, "an OTLP metric export")


def _mid_run_starts(name: str) -> int:
    """SessionStart events inside an open run (source=compact) start no new run."""
    return sum(
        1 for e in load_session(name) if e["event"] == "SessionStart" and e["payload"].get("source") == "compact"
    )


def test_receiver_down_then_up_delivers_everything_once(tmp_path: Path, agent_env: dict[str, str]) -> None:
    port = free_port()
    agent_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    replay("main", agent_env)
    paths = spool.SpoolPaths(agent_env["OTEL_CLAUDE_STATE_DIR"])
    status_file = Path(paths.root) / "status.json"

    def failed_once() -> bool:
        try:
            return json.loads(status_file.read_text())["span_export"]["failures"] > 0
        except (OSError, ValueError, KeyError):
            return False

    wait_for(failed_once, 60, "a failed export while the receiver is down")
    assert spool.pending_names(paths), "records must stay in the spool while nothing was delivered"
    late = OtlpReceiver(port).start()
    try:
        wait_for(lambda: not spool.pending_names(paths), 90, "the spool to drain once the receiver is up")
        span_ids = [s.span_id for s in late.spans()]
        assert len(span_ids) == len(set(span_ids)), "delivered once"
        tool_ids = {span_attributes(s).get(sc.GEN_AI_TOOL_CALL_ID) for s in late.spans()} - {None}
        assert len(tool_ids) == sum(expected_tool_calls("main").values())
    finally:
        late.stop()


def test_bad_records_are_dead_lettered_and_the_agent_exports_the_rest(
    receiver: OtlpReceiver, agent_env: dict[str, str]
) -> None:
    env = production_env(agent_env)
    for garbage in (b"{", b'{"hook_event_name": "Stop"}', b'{"session_id": 1, "hook_event_name": "Stop"}'):
        assert run_hook(garbage, env).returncode == 0
    replay("main", env, "--wait", "--timeout", "60")
    dead = Path(agent_env["OTEL_CLAUDE_STATE_DIR"]) / "dead-letters.jsonl"
    reasons = [json.loads(line)["reason"] for line in dead.read_text().splitlines()]
    assert reasons == ["invalid_json", "invalid_fields", "invalid_fields"]
    assert len({span_attributes(s).get(sc.GEN_AI_TOOL_CALL_ID) for s in receiver.spans()} - {None}) == 8


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_llm_calls_nest_in_their_turn_or_subagent(name: str, receiver: OtlpReceiver, agent_env: dict[str, str]) -> None:
    agent_env["OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS"] = "200"
    replay(name, agent_env, "--wait", "--timeout", "60")
    spans = receiver.spans()
    wait_for(
        lambda: not json.loads((Path(agent_env["OTEL_CLAUDE_STATE_DIR"]) / "state.json").read_text()).get("settles"),
        20,
        "settle reads",
    )
    spans = receiver.spans()
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    chats = [s for s in spans if span_attributes(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_LLM]
    assert chats, "the fixture transcripts hold API responses"
    for chat in chats:
        parent = by_id.get((chat.trace_id, chat.parent_span_id))
        assert parent is not None, f"{chat.name} has no exported parent"
        kind = span_attributes(parent)[sc.CC_SPAN_TYPE]
        assert kind in (sc.SPAN_TYPE_TURN, sc.SPAN_TYPE_SUBAGENT)
        if span_attributes(chat).get(sc.GEN_AI_AGENT_ID):
            assert kind == sc.SPAN_TYPE_SUBAGENT
    assert len({s.span_id for s in chats}) == len(chats)


def test_counts_survive_an_agent_killed_with_sigkill(receiver: OtlpReceiver, agent_env: dict[str, str]) -> None:
    import signal
    import subprocess
    import sys

    from otel_claude.handoff.agent_lock import holder_pid, lock_path

    replay("main", agent_env, "--wait", "--timeout", "60")
    state_dir = agent_env["OTEL_CLAUDE_STATE_DIR"]
    pid = holder_pid(lock_path(state_dir))
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: holder_pid(lock_path(state_dir)) is None, 10, "the killed agent's lock to be released")
    subprocess.Popen(
        [sys.executable, "-m", "otel_claude", "agent", "--background", "--state-dir", state_dir],
        env=agent_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prometheus = f"http://127.0.0.1:{agent_env['OTEL_EXPORTER_PROMETHEUS_PORT']}/metrics"

    def serving() -> bool:
        try:
            return "otel_claude_tool_calls_total" in scrape(prometheus)
        except OSError:
            return False

    wait_for(serving, 30, "the restarted agent's endpoint")
    text = scrape(prometheus)
    for (tool, outcome), count in expected_tool_calls("main").items():
        got = metric_value(
            text, "otel_claude_tool_calls_total", gen_ai_tool_name=tool, claude_code_tool_outcome=outcome
        )
        assert got == count, (tool, outcome)
