"""Which hook events to register for which Claude Code version.

Claude Code 2.1.100 silently ignores the whole settings.json when one event name is unknown to it, so install
registers only events the installed version knows, and the classic twelve when the version is unknown.
Versions from the Claude Code changelog (see ../docs and tests/fixtures/claude-code-2.1.330/README).
"""

from __future__ import annotations

import re
import subprocess

CLASSIC_EVENTS: tuple[str, ...] = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "PreCompact",
    "Notification",
    "PermissionRequest",
    "SessionEnd",
)

# Event -> the first version that knows it. Events whose version is not documented take the version they were
# captured with (2.1.330). The events never registered, and why, are in LEFT_OUT.
NEWER_EVENTS: dict[str, tuple[int, int, int]] = {
    "Setup": (2, 1, 10),
    "StopFailure": (2, 1, 78),
    "PostCompact": (2, 1, 76),
    "InstructionsLoaded": (2, 1, 69),
    "ConfigChange": (2, 1, 49),
    "CwdChanged": (2, 1, 83),
    "PermissionDenied": (2, 1, 89),
    "MessageDisplay": (2, 1, 152),
    "DirectoryAdded": (2, 1, 219),
    "UserPromptExpansion": (2, 1, 330),
    "PostToolBatch": (2, 1, 330),
    "PreModelSwitch": (2, 1, 330),
    "PostModelSwitch": (2, 1, 330),
}

# The events of Claude Code 2.1.330 install leaves out, and why: `install` says so, so no one wonders.
LEFT_OUT: dict[str, str] = {
    "WorktreeCreate": "a command hook there replaces git worktree creation",
    "WorktreeRemove": "a command hook there replaces git worktree removal",
    "FileChanged": "fires only for files a matcher names; it says nothing about tool calls or cost",
    "Elicitation": "a hook there answers an MCP server's question in the user's place",
    "ElicitationResult": "a hook there can change the user's answer to an MCP server",
    "TeammateIdle": "agent teams only; says nothing about tool calls or cost",
    "TaskCreated": "agent teams' task list; the Task tools' calls are recorded as tool calls already",
    "TaskCompleted": "agent teams' task list; the Task tools' calls are recorded as tool calls already",
}


def describe_left_out() -> str:
    """One line per event install does not register, with the reason (printed by `otel-claude install`)."""
    return "\n".join(f"  not registered: {name}: {why}" for name, why in LEFT_OUT.items())


_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def detect_version(binary: str = "claude", timeout: float = 20.0) -> tuple[int, int, int] | None:
    """`claude --version`, or None when there is no Claude Code or it does not answer."""
    try:
        result = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(result.stdout) if result.returncode == 0 else None


def events_for(version: tuple[int, int, int] | None) -> list[str]:
    """The events to register: the classic twelve, plus every newer one the version is known to accept."""
    events = list(CLASSIC_EVENTS)
    if version is None:
        return events
    events += [name for name, since in NEWER_EVENTS.items() if version >= since]
    return events
