"""At most one agent per user: an exclusive `flock` on a file in the state dir, and who holds it, checked.

The kernel releases the lock when the agent dies, however it dies, so a stale lock never blocks a new agent.
Once it holds the lock the agent writes `<pid> <dev>:<ino>` into the file: its pid and the lock's id as the
kernel's lock table (/proc/locks) spells it. An agent counts as running only if that table shows that pid
holding a lock on that very file and /proc/<pid> is ours: a stale pid, a pid reused by another user's process
(whatever its argv), or an agent of another state dir never counts. hook.sh runs the same check with bash builtins.
Standard library only: the hook probes it on every call.
"""

from __future__ import annotations

import fcntl
import os
import time

from otel_claude.handoff import paths

PROC_LOCKS = "/proc/locks"
_MAX_LOCKS_BYTES = 16 << 20  # a host with a hundred thousand locks; past that, the flock probe decides


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


def _lock_table() -> list[list[str]] | None:
    """/proc/locks as fields per line, or None where there is no such table."""
    try:
        text = paths.read_regular(PROC_LOCKS, _MAX_LOCKS_BYTES, owned=False).decode("ascii", "replace")
    except (OSError, ValueError):
        return None
    return [line.split() for line in text.splitlines()]


def _held_by(table: list[list[str]], pid: int, lock_id: str) -> bool:
    """A `FLOCK ADVISORY WRITE <pid> <lock_id>` line (not a `->` waiter) in the lock table."""
    wanted = ["FLOCK", "ADVISORY", "WRITE", str(pid), lock_id]
    return any(fields[1:6] == wanted for fields in table)


def _own_lock_id(fd: int) -> str:
    """This process's lock on `fd` as /proc/locks names it (on overlayfs that differs from fstat's dev:ino)."""
    table = _lock_table() or []
    pid = str(os.getpid())
    mine = [fields[5] for fields in table if len(fields) >= 6 and fields[1] == "FLOCK" and fields[4] == pid]
    if len(mine) == 1:
        return mine[0]
    info = os.fstat(fd)
    return f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"


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
        os.pwrite(fd, f"{os.getpid()} {_own_lock_id(fd)}\n".encode(), 0)
        return fd


def holder_pid(path: str) -> int | None:
    """The pid of the running agent: the pid written in the lock file, if the kernel shows that process holding
    this lock and it is ours. None when no agent runs, or when the file names anyone else."""
    try:
        fields = paths.read_regular(path, 128).split()
        pid, lock_id = int(fields[0]), fields[1].decode("ascii")
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 0 or not _is_ours(pid):
        return None
    table = _lock_table()
    if table is None:  # no lock table here: the flock probe says whether anyone holds the lock
        return pid if agent_is_running(path) else None
    return pid if _held_by(table, pid, lock_id) else None


def _is_ours(pid: int) -> bool:
    try:
        return os.lstat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False
