"""The agent yields the CPU to Claude Code: it runs at the configured niceness, never lower than it was started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.processes import OTEL_CLAUDE, production_env, stop_agent, wait_for

from otel_claude.handoff import agent_lock


def _niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[16])  # field 19 of proc(5)


def _yielded(start_at: int, target: int) -> int:
    """The niceness of a process started at `start_at` after `yield_cpu(target)`."""
    code = f"import os; from otel_claude.agent.runner import yield_cpu; yield_cpu({target}); print(os.nice(0))"
    done = subprocess.run(
        ["nice", "-n", str(start_at), sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_yield_cpu_raises_the_niceness_and_never_lowers_it() -> None:
    assert _yielded(0, 10) == 10
    assert _yielded(15, 10) == 15, "a service manager's higher niceness stays"
    assert _yielded(0, 0) == 0


@pytest.mark.integration  # starts a real agent
@pytest.mark.parametrize(("setting", "expected"), [(None, 10), ("0", 0), ("19", 19)])
def test_the_agent_runs_at_the_configured_niceness(tmp_path: Path, setting: str | None, expected: int) -> None:
    env = production_env(os.environ)
    state_dir = str(tmp_path / "state")
    env.update(OTEL_CLAUDE_STATE_DIR=state_dir, OTEL_EXPORTER_PROMETHEUS_PORT="0", OTEL_TRACES_EXPORTER="none",
               OTEL_METRICS_EXPORTER="none", OTEL_CLAUDE_SYSTEM_CONFIG_FILE=str(tmp_path / "none.env"),
               OTEL_CLAUDE_CONFIG_FILE=str(tmp_path / "none-user.env"))  # fmt: skip
    env.pop("OTEL_CLAUDE_AGENT_NICE", None)
    if setting is not None:
        env["OTEL_CLAUDE_AGENT_NICE"] = setting
    agent = subprocess.Popen([*OTEL_CLAUDE, "agent", "--state-dir", state_dir], env=env, stderr=subprocess.DEVNULL)
    try:
        lock = agent_lock.lock_path(state_dir)
        wait_for(lambda: agent_lock.holder_pid(lock) == agent.pid, 30, "the agent to take its lock")
        assert _niceness(agent.pid) == expected
    finally:
        stop_agent(state_dir, env)
        agent.wait(30)
