"""At most one agent per user: an exclusive `flock` on a file in the state dir.

The kernel releases the lock when the agent dies, however it dies, so a stale lock never blocks a new agent.
Standard library only: the hook probes it on every call.
"""

from __future__ import annotations

import fcntl
import os
import time

from otel_claude.handoff import paths


def lock_path(state_dir: str) -> str:
    return paths.StatePaths(state_dir).lock


def agent_is_running(path: str) -> bool:
    """True when another process holds the agent lock."""
    try:
        # No O_CREAT: a probe creates nothing (no lock file appears in a state dir that was refused).
        fd = os.open(path, os.O_RDWR | paths.SAFE_FLAGS)
    except OSError:
        return False
    try:
        paths.check_fd(fd, path)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our probe lock at once
    return False


def acquire(path: str, wait_s: float = 0.5) -> int | None:
    """Takes the agent lock and returns its fd (keep it open for the agent's life), or None if held.

    Retries briefly: a hook's probe holds the lock for microseconds and must not make a starting agent quit.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | paths.SAFE_FLAGS, paths.FILE_MODE)
    try:
        paths.check_fd(fd, path)
    except OSError:
        os.close(fd)
        raise
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.02)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd


def holder_pid(path: str) -> int | None:
    """The pid the running agent wrote into the lock file, if an agent runs."""
    if not agent_is_running(path):
        return None
    try:
        return int(paths.read_regular(path, 64).split()[0]) or None
    except (OSError, ValueError, IndexError):
        return None
