"""A sandbox to run the real Claude Code CLI in: a temporary HOME and project, the API stand-in, hooks.

Shared by the pytest fixtures (conftest.py) and the overhead benchmark, so both drive the CLI the same way.
The project directory lies under the sandbox root, which must be outside any git checkout: the CLI adopts an
enclosing repository as its project.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fake_anthropic import FakeAnthropic
from .planted import scenario_variables
from .scenario import load_scenario
from .versions import claude_binary

RECORD_HOOK = Path(__file__).with_name("record_hook.py")
# A key the CLI sends to the stand-in, never to anyone else; it must never show up in exported telemetry.
DUMMY_API_KEY = "sk-ant-api03-e2eDummyKeyNeverExported0000000000000000000000000000-AAAAAAAA"
# Keep the CLI on the loopback: no update checks, telemetry, marketplace or other non-essential traffic.
_QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
# PYTHONPATH: `PYTHONPATH=$PWD pytest` in a worktree must install, hook and start the agent from that worktree, not
# from the package the shared venv has installed in editable mode.
_PASS_THROUGH = ("USER", "LOGNAME", "LANG", "TZ", "PYTHONPATH")


@dataclass
class ClaudeResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    started: float  # time.time() before the process started
    seconds: float

    def json(self) -> dict[str, Any]:
        """The `--output-format json` result object (session_id, total_cost_usd, usage, ...)."""
        return dict(json.loads(self.stdout))

    def check(self) -> ClaudeResult:
        assert self.returncode == 0, f"claude exited {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        return self


class Sandbox:
    """One temporary HOME + project directory + stand-in, for one Claude Code version and one scenario."""

    def __init__(self, root: Path, version: str, scenario: str, variables: dict[str, str] | None = None) -> None:
        self.root = root
        self.version = version
        self.home = root / "home"
        self.workdir = root / "work"
        self.bindir = root / "bin"
        self.tmpdir = root / "tmp"  # the CLI keeps task output and sockets under $TMPDIR/claude-<uid>/
        for directory in (self.home / ".claude", self.workdir, self.bindir, self.tmpdir):
            directory.mkdir(parents=True, exist_ok=True)
        self.claude = claude_binary(version)
        # `claude` on PATH: otel-claude install asks `claude --version` which events to register.
        link = self.bindir / "claude"
        if not link.exists():
            link.symlink_to(self.claude)
        fill = {"workdir": str(self.workdir), "home": str(self.home), **scenario_variables(), **(variables or {})}
        self.scenario = load_scenario(scenario, fill)
        for relative, content in self.scenario.files.items():
            target = self.workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        self.session_id = new_session_id()  # the first run's; `resume` runs continue it
        self.api = FakeAnthropic(self.scenario).start()

    def close(self) -> None:
        self.api.stop()

    # --- environment and settings ------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A clean environment: nothing from the developer's shell that could change what the CLI does."""
        env = {key: os.environ[key] for key in _PASS_THROUGH if key in os.environ}
        env.update(_QUIET_ENV)
        env.update(
            {
                "PATH": f"{self.bindir}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(self.home),
                "TMPDIR": str(self.tmpdir),
                "ANTHROPIC_BASE_URL": self.api.base_url,
                "ANTHROPIC_API_KEY": DUMMY_API_KEY,
                "IS_SANDBOX": "1",  # as root, --dangerously-skip-permissions needs it
            }
        )
        env.update(extra or {})
        return env

    @property
    def settings_path(self) -> Path:
        return self.home / ".claude" / "settings.json"

    def read_settings(self) -> dict[str, Any]:
        if not self.settings_path.exists():
            return {}
        return dict(json.loads(self.settings_path.read_text(encoding="utf-8")))

    def write_settings(self, settings: dict[str, Any]) -> None:
        self.settings_path.write_text(json.dumps(settings, indent=2), encoding="utf-8")

    def add_command_hook(self, events: list[str] | tuple[str, ...], command: str) -> None:
        """Register `command` for every event in `events` (keeping what settings.json already has)."""
        settings = self.read_settings()
        hooks = settings.setdefault("hooks", {})
        for event in events:
            hooks.setdefault(event, []).append({"hooks": [{"type": "command", "command": command}]})
        self.write_settings(settings)

    def add_recording_hook(self, events: list[str] | tuple[str, ...], out: Path) -> None:
        command = f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(RECORD_HOOK))} {shlex.quote(str(out))}"
        self.add_command_hook(events, command)

    # --- running the CLI ---------------------------------------------------------------------------
    def claude_args(
        self,
        prompt: str,
        *,
        session_id: str | None = None,
        resume: str | None = None,
        permission_mode: str = "bypassPermissions",
        extra: list[str] | None = None,
    ) -> list[str]:
        args = [str(self.claude), "-p", prompt, "--output-format", "json"]
        if permission_mode == "bypassPermissions":
            args.append("--dangerously-skip-permissions")
        else:
            args += ["--permission-mode", permission_mode]
        # Since about 2.1.2xx, Glob and Grep are offered only when asked for (find and grep run in Bash otherwise).
        args += ["--allowedTools", "Glob,Grep"]
        if resume:
            args += ["--resume", resume]
        elif session_id:
            args += ["--session-id", session_id]
        return args + (extra or [])

    def start(
        self, prompt: str, env: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[subprocess.Popen[str], list[str], float]:
        args = self.claude_args(prompt, **kwargs)
        started = time.time()
        proc = subprocess.Popen(
            args,
            cwd=self.workdir,
            env=env or self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        return proc, args, started

    @staticmethod
    def finish(proc: subprocess.Popen[str], args: list[str], started: float, timeout: float = 120) -> ClaudeResult:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            stderr += f"\n[harness: killed after {timeout} s]"
        return ClaudeResult(args, proc.returncode, stdout, stderr, started, time.time() - started)

    def run(self, prompt: str, env: dict[str, str] | None = None, timeout: float = 120, **kwargs: Any) -> ClaudeResult:
        proc, args, started = self.start(prompt, env=env, **kwargs)
        return self.finish(proc, args, started, timeout)

    def rewind(self) -> None:
        """Ready the scenario to run again in this sandbox: a new session id, the stand-in from its first step."""
        self.session_id = new_session_id()
        self.api.reset()

    def run_scenario(self, env: dict[str, str] | None = None, timeout: float = 120) -> list[ClaudeResult]:
        """Every run the scenario lists, in order; consecutive `concurrent` runs start together."""
        results: list[ClaudeResult] = []
        runs = list(self.scenario.runs)
        while runs:
            batch = [runs.pop(0)]
            while batch[0].concurrent and runs and runs[0].concurrent:
                batch.append(runs.pop(0))
            started: list[tuple[subprocess.Popen[str], list[str], float]] = []
            for run in batch:
                first = not results and not started
                started.append(
                    self.start(
                        run.prompt,
                        env=env,
                        permission_mode=run.permission_mode,
                        session_id=self.session_id if first else None,
                        resume=self.session_id if run.resume else None,
                    )
                )
            results.extend(self.finish(*item, timeout=timeout) for item in started)
        return results

    # --- what the CLI left behind ------------------------------------------------------------------
    def transcripts(self) -> list[Path]:
        return sorted((self.home / ".claude" / "projects").rglob("*.jsonl"))


def new_session_id() -> str:
    return str(uuid.uuid4())


def read_hook_records(path: Path) -> list[dict[str, Any]]:
    """The lines the recording hook wrote, in the order it received them."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
