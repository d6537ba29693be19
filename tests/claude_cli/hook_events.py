"""The hook event names each pinned Claude Code release knows, read from its own code.

2.1.330: the list in the native binary (`strings claude.exe | grep '"PreToolUse","PostToolUse"'`), 33 names.
2.1.100: the list in cli.js, 27 names. It has no PostToolBatch, UserPromptExpansion, PreModelSwitch,
PostModelSwitch, DirectoryAdded or MessageDisplay, and one of those in settings.json makes it ignore the
whole file (test_compat.py shows it).
"""

from __future__ import annotations

EVENTS_2_1_100: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "Notification",
    "UserPromptSubmit",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
)

EVENTS_2_1_330: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "MessageDisplay",
)

KNOWN_EVENTS: dict[str, tuple[str, ...]] = {"2.1.100": EVENTS_2_1_100, "2.1.330": EVENTS_2_1_330}
