"""Starts an agent fully detached from the caller. Standard library only: the hook calls it."""

from __future__ import annotations

import os
import sys


def spawn_agent(state_dir: str | None = None) -> None:
    """Double-forks `python -m otel_claude agent --background` into its own session with no inherited fds.

    Claude Code waits for the hook's stdout to close: a child holding it would stall the session. The caller's
    `-I -S` flags are not passed on: the agent needs site-packages.
    """
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)  # the intermediate child exits at once
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 1024)
        os.chdir("/")  # hold no project directory busy
        argv = [sys.executable, "-m", "otel_claude", "agent", "--background"]
        if state_dir:
            argv += ["--state-dir", state_dir]
        os.execv(sys.executable, argv)
    finally:
        os._exit(0)
