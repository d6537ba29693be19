"""The spool: the durable hand-off between the hook and the agent.

One file per record, maildir style: the hook writes `tmp/<name>` and renames it into `new/`, so a record is
either absent or whole, and concurrent sessions never interleave. Names sort by spooling time, so the agent
consumes in order. The agent deletes a record only after the export that carries it succeeded.

A record is a header line `OCR1 <received_unix_ns>\\n` followed by the raw HookInput bytes: the hook never
parses JSON (importing `json` alone would cost it more than its whole budget).

Bound: when the spool takes more than OTEL_CLAUDE_SPOOL_MAX_BYTES on disk or the disk has less than
MIN_FREE_BYTES left, the hook drops the new record and appends a line to `drops.log`; what was accepted stays in
order and is never evicted. The agent measures the spool every few seconds and keeps a `full` marker, and its
`heartbeat` file says until when it promises to; without a live promise (no agent, a hung one) the hook measures
the spool itself, so the bound holds whether or not an agent is healthy.

Standard library only: this module is on the hook's path.
"""

from __future__ import annotations

import os
import time

from otel_claude.handoff import paths

TYPE_CHECKING = False  # typing's own constant costs an import on the hook's path
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HEADER_MAGIC = b"OCR1 "
MIN_FREE_BYTES = 64 * 1024 * 1024
SpoolPaths = paths.StatePaths  # the name the spool's callers know
_counter = 0


def ensure_layout(where: SpoolPaths) -> None:
    """Creates the state dir and the spool's dirs 0700; refuses any that is a symlink or someone else's."""
    for directory in (where.root, where.spool_dir, where.new_dir, where.tmp_dir):
        paths.ensure_private_dir(directory)


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


def writer_alive(name: str) -> bool:
    """Whether the hook.sh that writes record `name` in place (`<ns>-<its pid>-<random>.rec`) may still be running.
    Its end marker is written by that bash process itself, so once it is gone the record can never complete."""
    try:
        pid = int(name.split("-")[1])
    except (IndexError, ValueError):
        return True
    try:
        return os.lstat(f"/proc/{pid}").st_uid == os.getuid()  # a pid now someone else's is not our hook
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # without /proc, nothing is known: wait out the grace time
    except OSError:
        return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def has_room(where: SpoolPaths, size: int, default_max_bytes: Callable[[], int]) -> bool:
    """Whether a record of `size` bytes may be spooled: the spool's bound, kept whether or not an agent is healthy.
    A live agent that vouches for the full marker (its heartbeat) keeps the bound for the hooks; without one the
    hook counts the spool's disk use itself, against the bound the agent last applied (`default_max_bytes` when no
    agent ever ran here; read only then), and sets the marker when it is reached."""
    if os.path.lexists(where.full_marker) or not _disk_has_room(where, size):
        return False
    vouched, bound = agent_vouches(where, time.time())
    if vouched:
        return True
    if over_bound(where, size, default_max_bytes() if bound is None else bound):
        set_full(where, True)  # the next hooks drop at once; the agent removes it once there is room
        return False
    return True


def _disk_has_room(where: SpoolPaths, size: int) -> bool:
    try:
        fs = os.statvfs(where.new_dir)
    except OSError:
        return True
    return fs.f_bavail * fs.f_frsize - size >= MIN_FREE_BYTES


def record_disk_use(size: int) -> int:
    """What a new record of `size` payload bytes will take on disk: whole 4 KiB blocks, header included."""
    return (size + 64 + 4095) // 4096 * 4096


def agent_vouches(where: SpoolPaths, now_s: float) -> tuple[bool, int | None]:
    """(whether a live agent promises to keep the full marker, the bound it last applied)."""
    try:
        fields = (paths.read_private(where.heartbeat, 64) or b"").split()
        until, bound = int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return False, None
    return until > now_s, bound  # as hook.sh compares whole seconds: expired from the start of second `until`


def write_heartbeat(where: SpoolPaths, until_s: float, max_bytes: int) -> None:
    paths.write_atomic(where.heartbeat, f"{int(until_s)} {max_bytes}\n".encode(), sync=False)


def clear_heartbeat(where: SpoolPaths) -> None:
    _unlink_quietly(where.heartbeat)


def over_bound(where: SpoolPaths, size: int, max_bytes: int) -> bool:
    """Whether a new record of `size` bytes would pass `max_bytes` of disk use. Stops counting as soon as it
    would: the cost is one lstat per record below the bound, and only while no agent vouches for the marker."""
    left = max_bytes - record_disk_use(size)
    try:
        with os.scandir(where.new_dir) as entries:
            for entry in entries:
                try:
                    left -= disk_use(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
                if left < 0:
                    return True
    except OSError:
        return False
    return False


def append(where: SpoolPaths, received_ns: int, payload: bytes, *, sync: bool = False) -> str:
    """Writes one record whole and returns its name. Raises OSError if it could not (full disk, no rights)."""
    name = record_name(time.time_ns())
    tmp_path = os.path.join(where.tmp_dir, name)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, paths.FILE_MODE)
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
        os.rename(tmp_path, os.path.join(where.new_dir, name))
    except BaseException:
        _unlink_quietly(tmp_path)
        raise
    return name


def record_drop(where: SpoolPaths, fallback_dir: str, received_ns: int, size: int, reason: str) -> None:
    """Counts a lost record: one line in drops.log, or in the fallback dir if the state dir is unusable."""
    line = f"{received_ns} {size} {reason}\n".encode()
    for path in (where.drops_log, os.path.join(fallback_dir, "drops.log")):
        try:
            os.makedirs(os.path.dirname(path), mode=paths.DIR_MODE, exist_ok=True)
            if not paths.is_own_dir(os.path.dirname(path)):
                continue  # a symlinked or foreign dir was refused; no write through it either
            paths.append_bytes(path, line)
            return
        except OSError:
            continue


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- the agent's side -----------------------------------------------------------------------------

MAX_RECORD_BYTES = 256 * 1024 * 1024  # far above any HookInput; what is bigger is refused, not read into memory


class RecordTooLarge(OSError):
    """A record bigger than MAX_RECORD_BYTES: dead-lettered unread."""


def pending_names(where: SpoolPaths) -> list[str]:
    try:
        names = os.listdir(where.new_dir)
    except OSError:
        return []
    return sorted(name for name in names if name.endswith(".rec"))


def open_new_dir(where: SpoolPaths) -> int | None:
    """The spool's `new/` dir, open: `read_record` relative to it walks no path per record. None if it cannot be."""
    try:
        return os.open(where.new_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None


def read_record(where: SpoolPaths, name: str, directory: int | None = None) -> bytes:
    """The raw record. Refuses anything but a regular file of ours without blocking: a symlink planted in the spool
    (it could point into another user's files), a FIFO, a device, a directory. `directory`: open_new_dir's."""
    path, directory = (name, directory) if directory is not None else (os.path.join(where.new_dir, name), None)
    fd, info = paths.open_regular(path, dir_fd=directory)
    try:
        if info.st_size > MAX_RECORD_BYTES:
            raise RecordTooLarge(f"{info.st_size} bytes")
        # One read for the whole record (a byte more than its size shows its end) instead of reading until an empty
        # read; a record hook.sh is still writing may have grown since the stat: the rest is read on.
        head = os.read(fd, info.st_size + 1)
        if len(head) <= info.st_size:
            return head
        return head + paths.read_fd(fd, MAX_RECORD_BYTES - len(head))
    finally:
        os.close(fd)


def disk_use(info: os.stat_result) -> int:
    """Bytes a file takes on disk (a 200-byte record takes a whole 4 KiB block), which is what fills a disk."""
    return info.st_blocks * 512


def iter_sizes(where: SpoolPaths) -> Iterator[int]:
    """Disk use of every entry in the spool (not their sizes: 100k small records are 30 MB by size, 400 MB on disk)."""
    try:
        with os.scandir(where.new_dir) as entries:
            for entry in entries:
                try:
                    yield disk_use(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
    except OSError:
        return


def release(where: SpoolPaths, name: str) -> None:
    """Deletes a consumed record. A directory (or anything unlink refuses) is renamed out of the `.rec` names, so a
    bad entry is dead-lettered once, not on every pass."""
    path = os.path.join(where.new_dir, name)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        try:
            os.rename(path, path + ".rejected")
        except OSError:
            pass


def release_all(where: SpoolPaths, names: list[str]) -> None:
    """`release` for many records, relative to one descriptor of the spool's dir: no path is walked per record."""
    try:
        directory = os.open(where.new_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        for name in names:
            release(where, name)
        return
    try:
        for name in names:
            try:
                os.unlink(name, dir_fd=directory)
            except FileNotFoundError:
                pass
            except OSError:
                try:
                    os.rename(name, name + ".rejected", src_dir_fd=directory, dst_dir_fd=directory)
                except OSError:
                    pass
    finally:
        os.close(directory)


def set_full(where: SpoolPaths, full: bool) -> None:
    if full:
        paths.append_bytes(where.full_marker, b"")
    else:
        _unlink_quietly(where.full_marker)


def sweep_tmp(where: SpoolPaths, older_than_s: float = 300.0) -> int:
    """Removes temp files a killed hook left behind; returns how many."""
    removed = 0
    now = time.time()
    try:
        names = os.listdir(where.tmp_dir)
    except FileNotFoundError:
        return 0
    for name in names:
        path = os.path.join(where.tmp_dir, name)
        try:
            if now - os.lstat(path).st_mtime > older_than_s:
                os.unlink(path)
                removed += 1
        except OSError:
            continue
    return removed
