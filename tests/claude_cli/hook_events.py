"""The hook event names each pinned Claude Code release knows, read from its own code.

2.1.330: the list in the native binary (`strings claude.exe | grep '"PreToolUse","PostToolUse"'`), 33 names.
2.1.100: the list in cli.js, 27 names. It has no PostToolBatch, UserPromptExpansion, PreModelSwitch,
PostModelSwitch, DirectoryAdded or MessageDisplay, and one of those in settings.json makes it ignore the
whole file (test_compat.py shows it).
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

# The CLI's own list of hook event names, as it sits in its code: the longest such array is the complete one.
_EVENT_ARRAY = re.compile(rb'\["PreToolUse","PostToolUse"(?:,"[A-Za-z]+")*\]')

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


def events_in_binary(path: Path) -> tuple[str, ...]:
    """The hook event names an installed CLI knows, read from its native binary or cli.js."""
    with path.resolve().open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        arrays = [match.group(0) for match in _EVENT_ARRAY.finditer(data)]
    if not arrays:
        return ()
    return tuple(name.strip('"') for name in max(arrays, key=len).decode()[1:-1].split(","))
