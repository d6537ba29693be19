"""Running the real `otel-claude` hook and agent processes in tests, and always cleaning up after them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import otel_claude
from otel_claude.handoff import agent_lock, paths
from otel_claude.install import native_hook

HOOK_SCRIPT = str(Path(otel_claude.__file__).parent / "hook.py")
SHELL_HOOK = str(Path(otel_claude.__file__).parent / "hook.sh")
OTEL_CLAUDE = [sys.executable, "-m", "otel_claude"]
HOOK_KINDS = ("python", "shell", "native")


def hook_argv(kind: str = "python", state_dir: str | None = None) -> list[str]:
    """The hook exactly as `otel-claude install` registers it: the compiled or bash fast path, or the Python hook."""
    if kind == "shell":
        assert state_dir, "the shell hook takes its state dir on the command line"
        return ["bash", SHELL_HOOK, sys.executable, state_dir]
    if kind == "native":
        assert state_dir, "the compiled hook takes its state dir on the command line"
        binary, why = native_hook.ensure_built()
        assert binary, why
        return [binary, sys.executable, state_dir]
    return [sys.executable, "-I", "-S", HOOK_SCRIPT, *(["--state-dir", state_dir] if state_dir else [])]


def production_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment without OTEL_CLAUDE_DEBUG: the hook then behaves as in production (never raises)."""
    env = dict(base)
    env.pop("OTEL_CLAUDE_DEBUG", None)
    return env


def run_hook(
    payload: bytes, env: Mapping[str, str], timeout: float = 30, kind: str = "python"
) -> subprocess.CompletedProcess[bytes]:
    argv = hook_argv(kind, env.get("OTEL_CLAUDE_STATE_DIR"))
    return subprocess.run(argv, input=payload, env=dict(env), capture_output=True, timeout=timeout)


def otel_claude_cmd(*args: str, env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OTEL_CLAUDE, *args], env=dict(env), capture_output=True, text=True, timeout=timeout)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_agent(state_dir: str, env: Mapping[str, str]) -> None:
    """`otel-claude stop`, then SIGKILL if the agent is still there: no agent outlives its test."""
    path = agent_lock.lock_path(state_dir)
    pid = agent_lock.holder_pid(path)
    if pid is None:
        # Another user's agent (a test as root drives a created user's session): `stop` rightly refuses a foreign
        # pid, so the test ends the agent it started itself, found by the lock file naming a process that holds it.
        foreign = _foreign_holder(path)
        if foreign is not None:
            _terminate(foreign)
        return
    otel_claude_cmd("stop", "--state-dir", state_dir, "--timeout", "20", env=env, timeout=60)
    if agent_lock.agent_is_running(path):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _foreign_holder(path: str) -> int | None:
    try:
        fields = paths.read_regular(path, 128, owned=False).split()
        pid, fd = int(fields[0]), int(fields[1])
        return pid if os.path.samefile(f"/proc/{pid}/fd/{fd}", path) else None
    except (OSError, ValueError, IndexError):
        return None


def _terminate(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM (the agent flushes and exits), then SIGKILL after `grace_s`."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (Prometheus text format)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{key}="{val}"' in head for key, val in labels.items()):
            total += float(value)
    return total
