"""Installs made before the package moved into folders (commit 42db147) keep working, and uninstall removes them.

An old `otel-claude install` wrote, for each event, one handler whose command is either the bash fast path
`<bash> <package>/hook.sh <python> <state dir>` or `<python> -I -S <package>/hook.py --state-dir <state dir>`
(42db147:otel_claude/installer.py, `hook_command`), with a 10 s timeout, in a group of its own. Those files are
still on users' machines: both hook files must stay where they were, and uninstall must still recognise them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES
from support.processes import production_env

import otel_claude
from otel_claude.cli.main import main
from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import lock_path

PACKAGE_DIR = Path(otel_claude.__file__).parent
# 42db147's CLASSIC_EVENTS plus the newer events it registered for Claude Code 2.1.330.
OLD_EVENTS = (
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "SubagentStart",
    "SubagentStop", "Stop", "PreCompact", "Notification", "PermissionRequest", "SessionEnd", "Setup", "StopFailure",
    "PostCompact", "InstructionsLoaded", "ConfigChange", "CwdChanged", "PermissionDenied", "MessageDisplay",
    "DirectoryAdded", "UserPromptExpansion", "PostToolBatch", "PreModelSwitch", "PostModelSwitch",
)  # fmt: skip
THEIRS = {"type": "command", "command": "notify-send done"}


def old_hook_command(state_dir: str, *, shell: bool) -> str:
    """42db147's installer.hook_command, verbatim in what it produces."""
    if shell:
        bash = shutil.which("bash")
        assert bash
        parts = [bash, os.path.join(PACKAGE_DIR, "hook.sh"), sys.executable, state_dir]
    else:
        parts = [sys.executable, "-I", "-S", os.path.join(PACKAGE_DIR, "hook.py"), "--state-dir", state_dir]
    return " ".join(shlex.quote(part) for part in parts)


def old_settings(command: str) -> dict[str, object]:
    hooks: dict[str, list[dict[str, object]]] = {
        event: [{"hooks": [{"type": "command", "command": command, "timeout": 10}]}] for event in OLD_EVENTS
    }
    hooks["Stop"].insert(0, {"matcher": "", "hooks": [THEIRS]})
    return {"model": "opus", "hooks": hooks}


@pytest.fixture(params=["shell", "python"])
def old_install(request: pytest.FixtureRequest, isolated_home: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """(settings.json, the command it names, the state dir) as a pre-redesign install left them."""
    state_dir = str(tmp_path / "state")
    command = old_hook_command(state_dir, shell=request.param == "shell")
    settings = isolated_home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(old_settings(command), indent=2))
    return settings, command, state_dir


def test_the_old_command_still_runs_the_hook(old_install: tuple[Path, str, str]) -> None:
    settings, command, state_dir = old_install
    named = json.loads(settings.read_text())["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert named == command and "otel_claude/hook." in named
    paths = spool.SpoolPaths(state_dir)
    spool.ensure_layout(paths)
    fd = os.open(lock_path(state_dir), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # an "agent" holds the lock: the hook spools and starts none
    payload = (FIXTURES / "hooks" / "PreToolUse.json").read_bytes()
    try:
        # As Claude Code runs a command hook: through a shell, the HookInput on stdin.
        result = subprocess.run(
            ["/bin/sh", "-c", command], input=payload, env=production_env(os.environ), capture_output=True, timeout=30
        )
    finally:
        os.close(fd)
    assert (result.returncode, result.stdout) == (0, b"")
    (name,) = spool.pending_names(paths)
    assert spool.decode(spool.read_record(paths, name))[1] == payload


def test_uninstall_finds_the_old_handlers_and_keeps_the_rest(old_install: tuple[Path, str, str]) -> None:
    settings, command, _ = old_install
    assert main(["uninstall"]) == 0
    data = json.loads(settings.read_text())
    assert command not in settings.read_text()
    assert data["model"] == "opus"
    assert data["hooks"] == {"Stop": [{"matcher": "", "hooks": [THEIRS]}]}


def test_install_over_an_old_install_replaces_its_handlers(old_install: tuple[Path, str, str]) -> None:
    settings, _, state_dir = old_install
    assert main(["install", "--claude-version", "2.1.330", "--state-dir", state_dir]) == 0
    hooks = json.loads(settings.read_text())["hooks"]
    for event, groups in hooks.items():
        ours = [h["command"] for g in groups for h in g["hooks"] if "otel_claude/hook." in h["command"]]
        assert len(ours) == 1, f"{event}: {ours}"  # one handler per event, never the old one beside a new one
    assert THEIRS in [h for g in hooks["Stop"] for h in g["hooks"]]
