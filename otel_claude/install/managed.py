"""`install --managed`: hooks for every user of a machine, in Claude Code's managed settings.

Claude Code 2.1.330 reads managed settings from a fixed path per platform (no environment variable moves it; see
docs/team.md). The command written there names no state dir: each user's hook resolves its own private state dir
at run time from that user's environment (`$XDG_STATE_HOME` or `~/.local/state`), and starts that user's own
agent. The agent's settings for the whole machine go to the system config file, read beneath each user's own.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from otel_claude.handoff import env
from otel_claude.install.settings_file import Change

# Every user's Claude Code and agent must read these files; neither may be writable by them.
SETTINGS_MODE = 0o644
SYSTEM_CONFIG_MODE = 0o644


def is_empty(settings_text: str) -> bool:
    """True for a settings file holding an empty object (all that is left once our hooks are removed)."""
    return settings_text.strip() in ("", "{}")


def plan_remove_system_config() -> Change | None:
    """Uninstall removes the machine-wide config file install wrote (it holds only otel-claude's settings)."""
    path = Path(env.system_config_file())
    if not path.is_file():
        return None
    return Change(path, path.read_text(encoding="utf-8"), "")


def _blocked(path: str) -> str | None:
    """The first directory on the way to `path` (or the file itself) that other users cannot pass or read."""
    parts = os.path.abspath(path).split(os.sep)
    for depth in range(2, len(parts) + 1):
        prefix = os.sep.join(parts[:depth]) or os.sep
        try:
            mode = os.stat(prefix).st_mode
        except OSError:
            return prefix
        needed = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH
        if not mode & needed:
            return prefix
    return None


def unreachable_for_other_users(paths: list[str]) -> str | None:
    """Why another user's hook could not run this installation, or None. Each path is checked as written and as
    resolved (a venv's python is a link into the base interpreter, often under a private home such as /root)."""
    for path in paths:
        for candidate in dict.fromkeys((path, os.path.realpath(path))):
            blocked = _blocked(candidate)
            if blocked:
                return f"{blocked} is not readable by other users, so their hooks cannot run {path}"
    return None
