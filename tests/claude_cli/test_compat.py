"""Compatibility with an older Claude Code 2.1.x (versions.env) beside the newest.

The older release silently ignores the WHOLE settings.json when one hook event name is unknown to it, so
`otel-claude install` must detect `claude --version` and register only the events that version knows. The runs
below also record, with a hook on every event the old version knows, which events it really fires.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from support.otlp_receiver import span_attributes

from otel_claude import semconv as sc
from otel_claude.install.events import events_for, parse_version

from .conftest import SandboxFactory
from .harness import read_hook_records
from .hook_events import KNOWN_EVENTS, events_in_binary
from .otel_run import OtelRun, prometheus_name, run_with_otel_claude
from .versions import claude_binary

pytestmark = pytest.mark.claude

SCENARIOS = ["tools_ok", "tools_fail", "subagent_parallel", "permission_denied", "resume_compact", "concurrent"]
# Measured with 2.1.100 over the scenarios above (hooks registered for all 27 events it knows). It fires no
# PermissionRequest in print mode: a denied call has a PreToolUse and nothing else.
FIRED_BY_2_1_100 = {
    "SessionStart",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
}


def test_known_event_lists_match_the_binaries(claude_version: str, claude_old_version: str) -> None:
    for version in (claude_version, claude_old_version):
        assert events_in_binary(claude_binary(version)) == KNOWN_EVENTS[version], version
        # What install would register for this version is all known to it (one unknown name disables all).
        assert set(events_for(parse_version(version))) <= set(KNOWN_EVENTS[version]), version


def test_old_version_ignores_all_hooks_when_one_event_is_unknown(
    sandbox_factory: SandboxFactory, claude_old_version: str, claude_version: str
) -> None:
    fired: dict[tuple[str, str], Counter[str]] = {}
    for version, extra in (
        (claude_old_version, None),
        (claude_old_version, "PostToolBatch"),
        (claude_version, "NoSuchEvent"),
    ):
        sandbox = sandbox_factory(version, "tools_fail")
        record = sandbox.root / "hooks.jsonl"
        sandbox.add_recording_hook(["PreToolUse", "Stop"] + ([extra] if extra else []), record)
        for result in sandbox.run_scenario():
            result.check()
        fired[(version, str(extra))] = Counter(h["event"] for h in read_hook_records(record))
    assert fired[(claude_old_version, "None")] == {"PreToolUse": 2, "Stop": 1}
    assert fired[(claude_old_version, "PostToolBatch")] == {}, "one unknown name and no hook fires at all"
    assert fired[(claude_version, "NoSuchEvent")] == {"PreToolUse": 2, "Stop": 1}, "the newest skips unknown names"


@pytest.fixture(scope="module")
def old_run(sandbox_factory: SandboxFactory, claude_old_version: str) -> Iterator[Callable[[str], OtelRun]]:
    cache: dict[str, OtelRun] = {}

    def get(scenario: str) -> OtelRun:
        if scenario not in cache:
            sandbox = sandbox_factory(claude_old_version, scenario)
            cache[scenario] = run_with_otel_claude(sandbox, record_events=list(KNOWN_EVENTS[claude_old_version]))
            for result in cache[scenario].results:
                result.check()
        return cache[scenario]

    yield get
    for run in cache.values():
        run.receiver.stop()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_install_for_the_old_version_registers_hooks_that_fire(
    old_run: Callable[[str], OtelRun], claude_old_version: str, scenario: str
) -> None:
    run = old_run(scenario)
    assert claude_old_version in run.install_output
    assert set(run.installed_events) <= set(KNOWN_EVENTS[claude_old_version])
    assert {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"} <= set(run.installed_events)
    # The settings were accepted: otel-claude's hook got every event it registered for that fired.
    counts = Counter(h["event"] for h in run.hooks if h["event"] in run.installed_events)
    assert counts, "no hook fired"
    for event, count in counts.items():
        assert run.prometheus(prometheus_name(sc.METRIC_HOOK_EVENTS), claude_code_hook_event=event) == count, event
    calls = run.tool_calls()
    assert set(run.tool_spans()) == set(calls)
    turns = run.spans_of_type(sc.SPAN_TYPE_TURN)
    assert {str(span_attributes(t).get(sc.CC_PROMPT_ID)) for t in turns} >= {
        p["prompt_id"] for p in run.events("UserPromptSubmit") if p.get("prompt_id")
    }
    assert len(turns) >= len(run.events("UserPromptSubmit"))


def test_events_the_old_version_fires(old_run: Callable[[str], OtelRun], claude_old_version: str) -> None:
    fired: set[str] = set()
    for scenario in SCENARIOS:
        fired |= {h["event"] for h in old_run(scenario).hooks}
    assert fired == FIRED_BY_2_1_100
    assert old_run("permission_denied").events("PermissionRequest") == []
    assert [p["tool_name"] for p in old_run("permission_denied").events("PreToolUse")] == ["Bash"]
