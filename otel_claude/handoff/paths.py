"""Every path under the state dir, every file mode, and the only ways otel-claude opens the files it keeps or reads.

Another local user, or a broken tool, can leave anything where we expect a file: a FIFO (an `open` that blocks
forever), a symlink to /dev/zero (a read that never ends) or into someone else's files, a directory. So every
open here is no-follow (`O_NOFOLLOW`: the last component is never a link), non-blocking (`O_NONBLOCK`: opening a
FIFO returns at once) and checked on the opened descriptor (`fstat`: a regular file, and ours); reads are
bounded; private files are written whole, by a fresh temp file renamed into place.

Standard library only (`os` and `stat`, which `os` imports anyway): this module is on the hook's path.
"""

from __future__ import annotations

import os
import stat

DIR_MODE = 0o700
FILE_MODE = 0o600
# O_CLOEXEC: the hook forks an agent, which must inherit nothing; O_NOCTTY: a terminal never becomes ours.
SAFE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
READ_FLAGS = os.O_RDONLY | SAFE_FLAGS
APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | SAFE_FLAGS
_READ_CHUNK = 1 << 20


class NotOurFile(OSError):
    """The path is something other than a regular file that belongs to us (a FIFO, a device, a directory...)."""


class StatePaths:
    """Where everything lives under the state dir. (No dataclass here: it costs the hook 17 ms of imports.)"""

    __slots__ = ("root",)

    def __init__(self, root: str) -> None:
        self.root = root

    @property
    def spool_dir(self) -> str:
        return os.path.join(self.root, "spool")

    @property
    def new_dir(self) -> str:
        return os.path.join(self.root, "spool", "new")

    @property
    def tmp_dir(self) -> str:
        return os.path.join(self.root, "spool", "tmp")

    @property
    def full_marker(self) -> str:
        return os.path.join(self.root, "spool", "full")

    @property
    def heartbeat(self) -> str:
        """The agent's promise to keep the full marker up to date, until the epoch second the file holds."""
        return os.path.join(self.root, "spool", "heartbeat")

    @property
    def drops_log(self) -> str:
        return os.path.join(self.root, "drops.log")

    @property
    def dead_letters(self) -> str:
        return os.path.join(self.root, "dead-letters.jsonl")

    @property
    def lock(self) -> str:
        return os.path.join(self.root, "agent.lock")

    @property
    def snapshot(self) -> str:
        return os.path.join(self.root, "state.json")

    @property
    def status(self) -> str:
        return os.path.join(self.root, "status.json")

    @property
    def agent_log(self) -> str:
        return os.path.join(self.root, "agent.log")

    @property
    def hook_log(self) -> str:
        return os.path.join(self.root, "hook.log")

    @property
    def backfill_dir(self) -> str:
        return os.path.join(self.root, "backfill")


def fallback_dir() -> str:
    """Where the hook counts losses when the state dir itself is unusable (another user may have made it first:
    every use goes through `is_own_dir`)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(base, f"otel-claude-{os.getuid()}")


def fallback_drops_log() -> str:
    return os.path.join(fallback_dir(), "drops.log")


# --- directories ----------------------------------------------------------------------------------


def is_own_dir(path: str) -> bool:
    """A plain directory (not a symlink to one) that belongs to us: the only kind we write into or read from."""
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def ensure_private_dir(path: str) -> None:
    """Creates `path` (and parents) 0700; refuses a symlink or a directory owned by someone else."""
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"{path} is not a plain directory")
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to uid {info.st_uid}, not to us")
    if info.st_mode & 0o077:
        os.chmod(path, DIR_MODE)


# --- files ----------------------------------------------------------------------------------------


def check_fd(fd: int, path: str, *, owned: bool = True) -> os.stat_result:
    """The descriptor's own stat, after checking it is a regular file (of ours); raises NotOurFile if not."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise NotOurFile(f"{path} is not a regular file")
    if owned and info.st_uid != os.getuid():
        raise NotOurFile(f"{path} belongs to uid {info.st_uid}, not to us")
    return info


def _checked(fd: int, path: str, owned: bool) -> os.stat_result:
    """`check_fd`, closing the descriptor when it fails."""
    try:
        return check_fd(fd, path, owned=owned)
    except BaseException:
        os.close(fd)
        raise


def open_regular(path: str, *, owned: bool = True, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """A read-only descriptor on a regular file (of ours, unless `owned` is False), and its stat.

    Never blocks (a FIFO or a device is refused after a non-blocking open), never follows a final symlink.
    `dir_fd`: `path` is relative to that open directory (no path walked per file, for many files in one dir).
    Raises FileNotFoundError, NotOurFile or another OSError (ValueError for a path with a NUL byte).
    """
    fd = os.open(path, READ_FLAGS, dir_fd=dir_fd)
    return fd, _checked(fd, path, owned)


def read_fd(fd: int, limit: int) -> bytes:
    """At most `limit` bytes from `fd` (the caller closes it)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_regular(path: str, limit: int, *, owned: bool = True) -> bytes:
    """The first `limit` bytes of a regular file (of ours): see `open_regular`."""
    fd, _ = open_regular(path, owned=owned)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def read_private(path: str, limit: int) -> bytes | None:
    """A file of ours, or None when it does not exist."""
    try:
        return read_regular(path, limit)
    except FileNotFoundError:
        return None


def open_append(path: str) -> int:
    """An append descriptor on a private regular file of ours, created 0600 if missing."""
    fd = os.open(path, APPEND_FLAGS, FILE_MODE)
    _checked(fd, path, True)
    return fd


def append_bytes(path: str, data: bytes) -> None:
    """Appends `data` with one write (O_APPEND: concurrent writers' lines never interleave)."""
    fd = open_append(path)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes, *, sync: bool = True) -> None:
    """Replaces `path` with `data`, private (0600), whole or not at all: a fresh temp file, fsync'd, renamed.

    The temp file is created exclusively (O_EXCL never opens what someone else left there), and rename replaces a
    symlink at `path` instead of writing through it.
    """
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)  # a temp file a killed writer with our pid left behind
    except OSError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | SAFE_FLAGS, FILE_MODE)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def count_lines(path: str, *, owned: bool = True) -> int:
    """Lines of a regular file of ours; 0 for anything else (missing, a FIFO, a link, someone else's)."""
    try:
        fd, _ = open_regular(path, owned=owned)
    except (OSError, ValueError):
        return 0
    try:
        total = 0
        while chunk := os.read(fd, 1 << 16):
            total += chunk.count(b"\n")
        return total
    except OSError:
        return total
    finally:
        os.close(fd)


def fallback_drop_count() -> int:
    """Drops the hook counted in the fallback dir: only if that dir is a real directory of ours."""
    directory = fallback_dir()
    return count_lines(fallback_drops_log()) if is_own_dir(directory) else 0
