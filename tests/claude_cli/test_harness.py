"""Self-test of the harness, independent of otel-claude: the real CLI runs against the stand-in, runs real
tools, and fires hooks (a recording hook registered for every event the version knows).

Each scenario runs once (module-scoped); the tests then check what the stand-in, the hook records, the
transcripts and the CLI's own JSON result say about that run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import SandboxFactory
from .harness import ClaudeResult, Sandbox, read_hook_records
from .hook_events import KNOWN_EVENTS

pytestmark = pytest.mark.claude


@dataclass
class HarnessRun:
    sandbox: Sandbox
    results: list[ClaudeResult]
    hooks: list[dict[str, Any]]

    def events(self, name: str, session_id: str | None = None) -> list[dict[str, Any]]:
        return [
            h["payload"]
            for h in self.hooks
            if h["event"] == name and (session_id is None or h["payload"]["session_id"] == session_id)
        ]

    def scripted_tool_uses(self) -> list[dict[str, Any]]:
        """The tool_use blocks the stand-in sent, with the ids it gave them."""
        return [
            block
            for ex in self.sandbox.api.model_exchanges()
            for block in (ex.response or {})["content"]
            if block["type"] == "tool_use"
        ]


@pytest.fixture(scope="module")
def harness_run(sandbox_factory: SandboxFactory, claude_version: str) -> Callable[[str], HarnessRun]:
    cache: dict[str, HarnessRun] = {}

    def get(scenario: str) -> HarnessRun:
        if scenario not in cache:
            sandbox = sandbox_factory(claude_version, scenario)
            record = sandbox.root / "hooks.jsonl"
            sandbox.add_recording_hook(KNOWN_EVENTS[claude_version], record)
            results = sandbox.run_scenario()
            for result in results:
                result.check()
            cache[scenario] = HarnessRun(sandbox, results, read_hook_records(record))
        return cache[scenario]

    return get


def _assert_served_as_written(run: HarnessRun) -> None:
    api = run.sandbox.api
    assert api.unserved_steps() == [], "the CLI made fewer model requests than the scenario scripts"
    assert [e.kind for e in api.model_exchanges() if e.kind == "unmatched"] == []
    assert [(e.method, e.path) for e in api.unknown_requests()] == [], "the CLI called an endpoint we do not serve"


def _assert_cli_usage_matches_stand_in(run: HarnessRun) -> None:
    """The CLI's own per-session totals (modelUsage covers subagents and compaction) equal what we reported."""
    sessions: dict[str, dict[str, int]] = {}
    for result in run.results:
        data = result.json()
        model_usage = data["modelUsage"]
        sessions[data["session_id"]] = {  # cumulative over a resumed session: the last run's figure wins
            "input": sum(m["inputTokens"] for m in model_usage.values()),
            "output": sum(m["outputTokens"] for m in model_usage.values()),
            "cache_read": sum(m["cacheReadInputTokens"] for m in model_usage.values()),
            "cache_creation": sum(m["cacheCreationInputTokens"] for m in model_usage.values()),
        }
    totals = run.sandbox.api.usage_totals()
    for key in ("input", "output", "cache_read", "cache_creation"):
        assert sum(s[key] for s in sessions.values()) == totals[key], key


def test_tools_succeed(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("tools_ok")
    _assert_served_as_written(run)
    assert run.results[0].json()["result"] == "All six tools ran."
    scripted = run.scripted_tool_uses()
    assert [b["name"] for b in scripted] == ["Bash", "Write", "Read", "Edit", "Glob", "Grep"]
    pre = {p["tool_use_id"]: p for p in run.events("PreToolUse")}
    post = {p["tool_use_id"]: p for p in run.events("PostToolUse")}
    for block in scripted:  # the hooks name the very tool calls the stand-in scripted
        assert pre[block["id"]]["tool_name"] == block["name"]
        assert post[block["id"]]["tool_name"] == block["name"]
        assert block["input"].items() <= post[block["id"]]["tool_input"].items()  # plus defaults (replace_all)
    assert run.events("PostToolUseFailure") == []
    # The tools really ran: the file exists with the edit applied, Grep found it.
    notes = (run.sandbox.workdir / "notes.txt").read_text(encoding="utf-8")
    assert "gamma line" in notes and "beta line" not in notes
    grep = next(p for p in post.values() if p["tool_name"] == "Grep")
    assert "gamma" in json.dumps(grep["tool_response"])
    bash = next(p for p in post.values() if p["tool_name"] == "Bash")
    assert bash["tool_response"]["stdout"] == "hello-e2e"
    assert [p["load_reason"] for p in run.events("InstructionsLoaded")] == ["session_start"]  # the CLAUDE.md
    assert len(run.events("Stop")) == 1 and len(run.events("SessionEnd")) == 1
    _assert_cli_usage_matches_stand_in(run)


def test_transcript_carries_the_stand_ins_usage(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("tools_ok")
    sent = {e.response["id"]: e.response["usage"] for e in run.sandbox.api.model_exchanges() if e.response}
    seen: dict[str, dict[str, Any]] = {}
    for path in run.sandbox.transcripts():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("type") == "assistant":
                seen[entry["message"]["id"]] = entry["message"]["usage"]
    assert set(seen) == set(sent)
    for message_id, usage in sent.items():
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            assert seen[message_id][key] == usage[key], (message_id, key)
        assert seen[message_id]["cache_creation"] == usage["cache_creation"]


def test_tools_fail(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("tools_fail")
    _assert_served_as_written(run)
    failures = {p["tool_name"]: p for p in run.events("PostToolUseFailure")}
    assert set(failures) == {"Bash", "Read"}
    assert failures["Bash"]["error"].startswith("Exit code 3")
    assert "does not exist" in failures["Read"]["error"]
    assert run.events("PostToolUse") == []
    # The stand-in got the errors back as is_error tool results.
    last = run.sandbox.api.model_exchanges()[-1].body or {}
    results = [
        b
        for m in last["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert [r.get("is_error") for r in results] == [True, True]
    _assert_cli_usage_matches_stand_in(run)


def test_subagent_and_parallel_calls(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("subagent_parallel")
    _assert_served_as_written(run)
    conversations = Counter(e.conversation for e in run.sandbox.api.model_exchanges())
    assert conversations == {"E2E_SUBAGENT": 3, "SUBAGENT_TASK_1": 3}
    # Parallel: the three calls of the first response ran as one batch (Claude Code's PostToolBatch says so),
    # and all three started before that batch ended. (Which hook of the three is received first varies.)
    first_batch = [b["id"] for b in run.scripted_tool_uses()[:3]]
    batches = [h for h in run.hooks if h["event"] == "PostToolBatch"]
    assert sorted(c["tool_use_id"] for c in batches[0]["payload"]["tool_calls"]) == sorted(first_batch)
    pre_times = [
        h["ts"] for h in run.hooks if h["event"] == "PreToolUse" and h["payload"]["tool_use_id"] in first_batch
    ]
    assert len(pre_times) == 3 and max(pre_times) < batches[0]["ts"]
    # The subagent: started and stopped once, its tool calls carry its agent_id, its transcript exists.
    (start,) = run.events("SubagentStart")
    (stop,) = run.events("SubagentStop")
    assert start["agent_id"] == stop["agent_id"] and start["agent_type"] == "general-purpose"
    inner = [p for p in run.events("PreToolUse") if p.get("agent_id") == start["agent_id"]]
    assert [p["tool_name"] for p in inner] == ["Bash", "Read"]
    assert Path(stop["agent_transcript_path"]).exists()
    agent_call = next(p for p in run.events("PostToolUse") if p["tool_name"] == "Agent")
    assert agent_call.get("agent_id") is None
    _assert_cli_usage_matches_stand_in(run)


def test_permission_denied(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("permission_denied")
    _assert_served_as_written(run)
    (request,) = run.events("PermissionRequest")
    assert request["tool_name"] == "Bash"
    (pre,) = run.events("PreToolUse")
    # A denied call has no PostToolUse or PostToolUseFailure: only PreToolUse, PermissionRequest, PostToolBatch.
    assert run.events("PostToolUse") == [] and run.events("PostToolUseFailure") == []
    assert not (run.sandbox.workdir / "should-not-exist.txt").exists()
    assert run.results[0].json()["permission_denials"][0]["tool_use_id"] == pre["tool_use_id"]


def test_resume_and_compact(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("resume_compact")
    _assert_served_as_written(run)
    assert {p["session_id"] for p in run.events("SessionStart")} == {run.sandbox.session_id}
    assert [p["source"] for p in run.events("SessionStart")] == ["startup", "resume", "compact", "resume"]
    assert [p["trigger"] for p in run.events("PreCompact")] == ["manual"]
    (post_compact,) = run.events("PostCompact")
    assert run.sandbox.scenario.compact_summary in post_compact["compact_summary"]
    assert [e.kind for e in run.sandbox.api.model_exchanges()].count("compact") == 1
    _assert_cli_usage_matches_stand_in(run)


def test_two_sessions_at_once(harness_run: Callable[[str], HarnessRun]) -> None:
    run = harness_run("concurrent")
    _assert_served_as_written(run)
    sessions = [r.json()["session_id"] for r in run.results]
    assert len(set(sessions)) == 2
    for session, marker in zip(sessions, ("from-a", "from-b"), strict=True):
        commands = [p["tool_input"].get("command", "") for p in run.events("PreToolUse", session)]
        assert any(marker in c for c in commands) and len(commands) == 2
    # They really overlapped: both sessions submitted their prompt before either finished a tool call.
    order = [(h["event"], h["payload"]["session_id"]) for h in run.hooks]
    first_post = min(i for i, (event, _) in enumerate(order) if event == "PostToolUse")
    assert {s for event, s in order[:first_post] if event == "UserPromptSubmit"} == set(sessions)
    _assert_cli_usage_matches_stand_in(run)
