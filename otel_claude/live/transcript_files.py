"""Where a session's transcripts are on disk, and whether one changed since it was last read."""

from __future__ import annotations

import os
import stat

MAX_SUBAGENT_FILES = 64  # looked at per cost-state line


def subagent_transcript_path(transcript_path: str, agent_id: str) -> str:
    return os.path.join(os.path.splitext(transcript_path)[0], "subagents", f"agent-{agent_id}.jsonl")


def subagent_files(transcript_path: str) -> list[tuple[str, str]]:
    """(path, agent id) of the subagent transcripts beside a main transcript (the first MAX_SUBAGENT_FILES by name)."""
    directory = os.path.join(os.path.splitext(transcript_path)[0], "subagents")
    try:
        info = os.lstat(directory)  # one call for "not a link, and a directory" (islink, then isdir, were two)
    except (OSError, ValueError):
        return []
    if not stat.S_ISDIR(info.st_mode):  # a symlink (to a directory or not) is not S_ISDIR under lstat
        return []
    try:
        names = sorted(os.listdir(directory))[:MAX_SUBAGENT_FILES]
    except OSError:
        return []
    return [
        (os.path.join(directory, name), name[len("agent-") : -len(".jsonl")])
        for name in names
        if name.startswith("agent-") and name.endswith(".jsonl")
    ]


def unchanged(path: str, cursor: dict[str, object]) -> bool:
    """Nothing new since the last read (same file, read to its end): most events, and the cheapest answer."""
    if not cursor:
        return False
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False  # the reader reports what is wrong
    return (
        info.st_ino == cursor.get("ino") and info.st_dev == cursor.get("dev") and info.st_size == cursor.get("offset")
    )
