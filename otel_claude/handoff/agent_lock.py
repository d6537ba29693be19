"""At most one agent per user: an exclusive `flock` on a file in the state dir, and who holds it, checked.

The kernel releases the lock when the agent dies, however it dies, so a stale lock never blocks a new agent.
Once it holds the lock the agent writes `<pid> <fd>` into the file: its pid and the descriptor that holds the
lock. An agent counts as running only if /proc/<pid> is ours and /proc/<pid>/fd/<fd> is this very file (and, in
Python, the flock probe finds the lock held): a stale pid, a pid reused by another user's process (whatever its
argv; its /proc entry is not ours), or an agent of another state dir never counts. hook.sh runs the same check
with bash builtins (`-O`, `-ef`: two stats, no exec). (Not /proc/locks: reading it takes a write lock on every
file lock of the host, 10 ms on a busy one.)
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
    """True when another process holds the agent lock (a flock probe: what the kernel says, not what a pid says)."""
    try:
        # No O_CREAT: a probe creates nothing (no lock file appears in a state dir that was refused).
        fd = os.open(path, os.O_RDWR | paths.SAFE_FLAGS)
    except (OSError, ValueError):
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
        os.pwrite(fd, f"{os.getpid()} {fd}\n".encode(), 0)
        return fd


def holder_pid(path: str) -> int | None:
    """The pid of the running agent: the pid written in the lock file, if that process is ours, has this very
    file open under the fd written beside it, and the lock is held. None when no agent runs, or when the file
    names anyone else."""
    try:
        fields = paths.read_regular(path, 128).split()
        pid = int(fields[0])
        fd = int(fields[1]) if len(fields) > 1 else None  # None: an agent from before the fd was written
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 0 or not _is_ours(pid):
        return None
    try:
        if fd is not None and not os.path.samefile(f"/proc/{pid}/fd/{fd}", path):
            return None
    except OSError:
        return None
    # (An older agent's lock names only its pid: still ours and holding the lock, so `stop` can stop it at upgrade.)
    return pid if agent_is_running(path) else None


def _is_ours(pid: int) -> bool:
    try:
        return os.lstat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False
