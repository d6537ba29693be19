"""The spool: the durable hand-off between the hook and the agent.

One file per record, maildir style: the hook writes `tmp/<name>` and renames it into `new/`, so a record is
either absent or whole, and concurrent sessions never interleave. Names sort by spooling time, so the agent
consumes in order. The agent deletes a record only after the export that carries it succeeded.

A record is a header line `OCR1 <received_unix_ns>\\n` followed by the raw HookInput bytes: the hook never
parses JSON (importing `json` alone would cost it more than its whole budget).

Bound: when the spool holds more than OTEL_CLAUDE_SPOOL_MAX_BYTES (the agent maintains a `full` marker) or the
disk has less than MIN_FREE_BYTES left, the hook drops the new record and appends a line to `drops.log`; what
was accepted stays in order and is never evicted.

Standard library only: this module is on the hook's path.
"""

from __future__ import annotations

import os
import stat  # already imported by os itself: free on the hook's path
import time

TYPE_CHECKING = False  # typing's own constant costs an import on the hook's path
if TYPE_CHECKING:
    from collections.abc import Iterator

HEADER_MAGIC = b"OCR1 "
MIN_FREE_BYTES = 64 * 1024 * 1024
DIR_MODE = 0o700
FILE_MODE = 0o600
_counter = 0


class SpoolPaths:
    """Where everything lives under the state dir. (No dataclass here: it costs the hook 17 ms of imports.)"""

    __slots__ = ("root",)

    def __init__(self, root: str) -> None:
        self.root = root

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
    def drops_log(self) -> str:
        return os.path.join(self.root, "drops.log")

    @property
    def dead_letters(self) -> str:
        return os.path.join(self.root, "dead-letters.jsonl")


def ensure_private_dir(path: str) -> None:
    """Creates `path` (and parents) 0700; refuses a symlink or a directory owned by someone else."""
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    info = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path):
        raise PermissionError(f"{path} is not a plain directory")
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to uid {info.st_uid}, not to us")
    if info.st_mode & 0o077:
        os.chmod(path, DIR_MODE)


def ensure_layout(paths: SpoolPaths) -> None:
    ensure_private_dir(paths.root)
    ensure_private_dir(os.path.join(paths.root, "spool"))
    ensure_private_dir(paths.new_dir)
    ensure_private_dir(paths.tmp_dir)


def record_name(spooled_ns: int) -> str:
    global _counter
    _counter += 1
    return f"{spooled_ns:020d}-{os.getpid():07d}-{_counter:04d}.rec"


def encode(received_ns: int, payload: bytes) -> bytes:
    return HEADER_MAGIC + str(received_ns).encode("ascii") + b"\n" + payload


class IncompleteRecord(ValueError):
    """An OCR2 record without its end marker: hook.sh is still writing it (or died writing it)."""


SHELL_END_MARKER = b"\nOCR2-END\n"


def decode(blob: bytes) -> tuple[int, bytes]:
    """Returns (received_ns, payload); raises ValueError for a record without a valid header.

    `OCR1 <ns>` records are renamed into place whole (hook.py). `OCR2 <ns>` records are written in place by
    hook.sh, which saves a `mv` per event: they are complete once they end with the end marker.
    """
    newline = blob.find(b"\n")
    if newline < 0:
        raise IncompleteRecord("record header is not terminated")
    header = blob[:newline].split(b" ")
    payload = blob[newline + 1 :]
    try:
        if header[0] == b"OCR1" and len(header) == 2:
            return int(header[1]), payload
        if header[0] == b"OCR2" and len(header) == 2:
            if not payload.endswith(SHELL_END_MARKER):
                raise IncompleteRecord(f"no end marker after {len(payload)} bytes")
            return int(header[1]), payload[: -len(SHELL_END_MARKER)]
    except ValueError as exc:
        if isinstance(exc, IncompleteRecord):
            raise
        raise ValueError(f"record header is not valid: {exc}") from None
    raise ValueError("record has no OCR1/OCR2 header")


def spooled_ns(name: str) -> int:
    """When a record was spooled, from its name (both hooks start names with the nanosecond time)."""
    try:
        return int(name.split("-", 1)[0])
    except ValueError:
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def has_room(paths: SpoolPaths, size: int) -> bool:
    if os.path.exists(paths.full_marker):
        return False
    try:
        fs = os.statvfs(paths.new_dir)
    except OSError:
        return True
    return fs.f_bavail * fs.f_frsize - size >= MIN_FREE_BYTES


def append(paths: SpoolPaths, received_ns: int, payload: bytes, *, sync: bool = False) -> str:
    """Writes one record whole and returns its name. Raises OSError if it could not (full disk, no rights)."""
    name = record_name(time.time_ns())
    tmp_path = os.path.join(paths.tmp_dir, name)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        _write_all(fd, encode(received_ns, payload))
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp_path)
        raise
    os.close(fd)
    try:
        os.rename(tmp_path, os.path.join(paths.new_dir, name))
    except BaseException:
        _unlink_quietly(tmp_path)
        raise
    return name


def record_drop(paths: SpoolPaths, fallback_dir: str, received_ns: int, size: int, reason: str) -> None:
    """Counts a lost record: one line in drops.log, or in the fallback dir if the state dir is unusable."""
    line = f"{received_ns} {size} {reason}\n".encode()
    for path in (paths.drops_log, os.path.join(fallback_dir, "drops.log")):
        try:
            os.makedirs(os.path.dirname(path), mode=DIR_MODE, exist_ok=True)
            if not is_own_dir(os.path.dirname(path)):
                continue  # a symlinked or foreign state dir was refused; no write through it either
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
        except OSError:
            continue
        try:
            os.write(fd, line)
            return
        except OSError:
            continue
        finally:
            os.close(fd)


def is_own_dir(path: str) -> bool:
    """A plain directory (not a symlink to one) that belongs to us: the only kind the hook writes into."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def fallback_dir() -> str:
    """Where the hook counts losses when the state dir itself is unusable."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(base, f"otel-claude-{os.getuid()}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- the agent's side -----------------------------------------------------------------------------


def pending_names(paths: SpoolPaths) -> list[str]:
    try:
        names = os.listdir(paths.new_dir)
    except OSError:
        return []
    return sorted(name for name in names if name.endswith(".rec"))


def read_record(paths: SpoolPaths, name: str) -> bytes:
    """The raw record; refuses a symlink planted in the spool (it could point into another user's files)."""
    fd = os.open(os.path.join(paths.new_dir, name), os.O_RDONLY | os.O_NOFOLLOW)
    try:
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def iter_sizes(paths: SpoolPaths) -> Iterator[int]:
    try:
        with os.scandir(paths.new_dir) as entries:
            for entry in entries:
                try:
                    yield entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        return


def release(paths: SpoolPaths, name: str) -> None:
    _unlink_quietly(os.path.join(paths.new_dir, name))


def set_full(paths: SpoolPaths, full: bool) -> None:
    if full:
        fd = os.open(paths.full_marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        os.close(fd)
    else:
        _unlink_quietly(paths.full_marker)


def sweep_tmp(paths: SpoolPaths, older_than_s: float = 300.0) -> int:
    """Removes temp files a killed hook left behind; returns how many."""
    removed = 0
    now = time.time()
    try:
        names = os.listdir(paths.tmp_dir)
    except FileNotFoundError:
        return 0
    for name in names:
        path = os.path.join(paths.tmp_dir, name)
        try:
            if now - os.lstat(path).st_mtime > older_than_s:
                os.unlink(path)
                removed += 1
        except OSError:
            continue
    return removed
