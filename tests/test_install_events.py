"""`otel-claude install` registers 25 of Claude Code 2.1.330's 33 events and says why it leaves out the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_claude.cli.main import main
from otel_claude.install import events as hook_events

# The hook events Claude Code 2.1.330 knows (its hooks reference; research/claude-code-facts.md §1.4).
EVENTS_2_1_330 = frozenset(
    [
        "SessionStart",
        "Setup",
        "InstructionsLoaded",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "MessageDisplay",
        "PreToolUse",
        "PermissionRequest",
        "PermissionDenied",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Notification",
        "SubagentStart",
        "SubagentStop",
        "TaskCreated",
        "TaskCompleted",
        "Stop",
        "StopFailure",
        "TeammateIdle",
        "ConfigChange",
        "CwdChanged",
        "DirectoryAdded",
        "FileChanged",
        "WorktreeCreate",
        "WorktreeRemove",
        "PreCompact",
        "PostCompact",
        "Elicitation",
        "ElicitationResult",
        "SessionEnd",
        "PreModelSwitch",
        "PostModelSwitch",
    ]
)


def test_every_event_is_registered_or_left_out_with_a_reason() -> None:
    registered = set(hook_events.events_for((2, 1, 330)))
    assert len(EVENTS_2_1_330) == 33 and len(registered) == 25
    assert registered | set(hook_events.LEFT_OUT) == EVENTS_2_1_330
    assert not registered & set(hook_events.LEFT_OUT)
    assert all(why.strip() for why in hook_events.LEFT_OUT.values())


def test_install_says_which_events_it_leaves_out_and_why(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_home / ".claude").mkdir()
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    out = capsys.readouterr().out
    assert "registering 25 events" in out
    for name, why in hook_events.LEFT_OUT.items():
        assert f"not registered: {name}: {why}" in out
    settings = json.loads((isolated_home / ".claude" / "settings.json").read_text())
    assert not set(settings["hooks"]) & set(hook_events.LEFT_OUT)
