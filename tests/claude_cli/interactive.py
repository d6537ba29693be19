"""Drives an interactive Claude Code session in tmux: type a prompt, press Esc while its tool runs, go on.

Print mode cannot show what only a person at the terminal does (an Esc). The sandbox's ~/.claude.json says the
onboarding is done, the project trusted and the stand-in's key approved, so no dialog stands in the way.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .harness import DUMMY_API_KEY, ClaudeResult, Sandbox, read_hook_records

SESSION = "otel-claude-e2e-esc"


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


def _trust(sandbox: Sandbox) -> None:
    config = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "bypassPermissionsModeAccepted": True,
        "customApiKeyResponses": {"approved": [DUMMY_API_KEY[-20:]], "rejected": []},
        "projects": {str(sandbox.workdir): {"hasTrustDialogAccepted": True, "allowedTools": []}},
    }
    (sandbox.home / ".claude.json").write_text(json.dumps(config), encoding="utf-8")


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _keys(*keys: str, literal: bool = False) -> None:
    subprocess.run(["tmux", "send-keys", "-t", SESSION, *(["-l"] if literal else []), *keys], check=True, timeout=10)


def _prompt(text: str) -> None:
    _keys(text, literal=True)
    time.sleep(0.3)
    _keys("Enter")


def drive_esc(
    first_prompt: str,
    second_prompt: str,
    esc_after_s: float,
    after: str = "PreToolUse",
    ready: Callable[[Sandbox], bool] | None = None,
) -> Callable[[Sandbox, Path], list[ClaudeResult]]:
    """A driver for run_with_otel_claude: the first prompt, Esc `esc_after_s` after its `after` hook event
    (PreToolUse: while the tool runs; UserPromptSubmit: while the model answers), counted from when
    `ready(sandbox)` holds (e.g. the model was asked), the second prompt, /exit."""

    def drive(sandbox: Sandbox, record: Path) -> list[ClaudeResult]:
        _trust(sandbox)
        env = " ".join(f"{key}={shlex.quote(value)}" for key, value in sandbox.env().items())
        command = f"cd {shlex.quote(str(sandbox.workdir))} && exec env -i {env} {shlex.quote(str(sandbox.claude))}"
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, timeout=10)
        started = time.time()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                "160",
                "-y",
                "50",
                command + " --dangerously-skip-permissions",
            ],
            check=True,
            timeout=10,
        )

        def seen(event: str, count: int = 1) -> Callable[[], bool]:
            return lambda: sum(r["event"] == event for r in read_hook_records(record)) >= count

        try:
            assert _wait(seen("SessionStart"), 60), "the interactive CLI did not start"
            time.sleep(1.5)  # the input box takes keys a moment after SessionStart
            _prompt(first_prompt)
            assert _wait(seen(after), 60), f"no {after} after the first prompt"
            if ready is not None:
                assert _wait(lambda: ready(sandbox), 60), "the session was not ready for the Esc"
            time.sleep(esc_after_s)
            _keys("Escape")
            time.sleep(1.5)
            _prompt(second_prompt)
            assert _wait(seen("Stop"), 60), "the second prompt got no answer"
            _prompt("/exit")
            _wait(seen("SessionEnd"), 20)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, timeout=10)
        return [ClaudeResult(["tmux", command], 0, "", "", started, time.time() - started)]

    return drive


def model_asked(sandbox: Sandbox) -> bool:
    """The stand-in has the model request of the first prompt (it streams the answer from then on). Not the
    transcript: Claude Code writes a response's lines when it completes or is stopped, not as it streams."""
    return bool(sandbox.api.model_exchanges())
