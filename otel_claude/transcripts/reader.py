"""Incremental transcript reader: only the lines added since the last read, over an explicit cursor.

The cursor is plain JSON-serializable data (path, device and inode, offset, a fingerprint of the bytes before the
offset, and the little context the next lines need), so the agent keeps it in its snapshot and a restarted agent
goes on where it stopped. Each read is bounded in bytes, so a Stop hook's work grows with the new lines, never with
the transcript's length. What it tolerates:
- a last line still being written (no newline yet): left for the next read;
- a truncated, rotated (new inode) or rewritten file (the bytes before the offset changed): read again from 0,
  the dedup keeps already counted responses from counting twice;
- a missing file: nothing yet, cursor unchanged; a path that is not a regular file (/dev/zero, a FIFO): refused;
- lines that are empty, not JSON, or longer than the line cap: skipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any

from otel_claude.handoff import paths
from otel_claude.transcripts.dedup import Dedup, Outcome
from otel_claude.transcripts.lines import LineParser
from otel_claude.transcripts.model import ApiError, CostState, Interrupt, LlmCall, RefusedCall

_log = logging.getLogger(__name__)

READ_CAP_BYTES = 8 * 1024 * 1024  # bytes of complete lines taken per read
LINE_CAP_BYTES = 64 * 1024 * 1024  # a longer line is skipped, never held in memory
_FINGERPRINT_BYTES = 64
_FINGERPRINT_HEAD_BYTES = 1024
_SKIP_CHUNK = 1024 * 1024
_SPACES = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.isspace counts as space
MAX_READS_PER_CALL = 64  # read_all_new stops after this many capped reads (512 MiB) and lets the caller come back


@dataclass(frozen=True)
class Cursor:
    """Where reading `path` stopped, and what the next lines need to be understood."""

    path: str
    dev: int | None = None
    ino: int | None = None
    offset: int = 0
    fingerprint: str = ""  # sha1 of the first bytes and those just before `offset`: detects a rewritten file
    skipping: bool = False  # inside an over-long line: drop bytes up to its newline
    context: dict[str, Any] = field(default_factory=dict)  # prompt id, pending requests, last cost-state

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "dev": self.dev,
            "ino": self.ino,
            "offset": self.offset,
            "fingerprint": self.fingerprint,
            "skipping": self.skipping,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        def opt_int(value: Any) -> int | None:
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        context = data.get("context")
        return cls(
            path=str(data.get("path") or ""),
            dev=opt_int(data.get("dev")),
            ino=opt_int(data.get("ino")),
            offset=max(opt_int(data.get("offset")) or 0, 0),
            fingerprint=str(data.get("fingerprint") or ""),
            skipping=bool(data.get("skipping")),
            context=dict(context) if isinstance(context, dict) else {},
        )


@dataclass(frozen=True)
class ReadResult:
    cursor: Cursor
    calls: list[LlmCall] = field(default_factory=list)
    cost_states: list[CostState] = field(default_factory=list)
    remaining_bytes: int = 0  # bytes after the new offset (a partial last line, or more than one read's cap)
    progressed: bool = False
    missing: bool = False
    error: str | None = None
    reset: str | None = None  # truncated | rotated | rewritten: the file was read again from the start
    skipped_lines: int = 0  # not JSON, or over the line cap
    # Responses whose last line this read found (a closing line followed it): (call key, last line's timestamp).
    closed_messages: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    # Tool calls the user stopped or refused, requests that failed: what the lines show beside the LLM calls.
    interrupts: list[Interrupt | ApiError | RefusedCall] = field(default_factory=list)


def read_new(
    cursor: Cursor,
    dedup: Dedup | None = None,
    *,
    max_bytes: int = READ_CAP_BYTES,
    max_line_bytes: int = LINE_CAP_BYTES,
    calls_only: bool = False,
    cost_states: bool = True,
) -> ReadResult:
    """Reads at most about `max_bytes` of complete new lines; with `dedup`, returns each response once.

    `calls_only`: only `calls`, `closed_messages`, `cost_states` and failed requests are wanted (backfill); stopped and
    refused tool calls are not returned. `cost_states=False`: cost-state lines are not decoded (backfill's subagent
    transcripts: only a main transcript's count)."""
    try:
        # A path named by a HookInput could be a FIFO, a device or a link: opened without blocking or following.
        fd, info = paths.open_regular(cursor.path)
    except FileNotFoundError:
        return ReadResult(cursor, missing=True)
    except paths.NotOurFile:
        return ReadResult(cursor, error="not a regular file")
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte, from a hostile or broken HookInput
        return ReadResult(cursor, error=f"cannot open: {getattr(exc, 'strerror', None) or exc}")
    try:
        limits = (max_bytes, max_line_bytes)
        return _read(fd, info.st_size, info.st_dev, info.st_ino, cursor, dedup, *limits, calls_only, cost_states)
    except OSError as exc:
        return ReadResult(cursor, error=f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)


def read_all_new(cursor: Cursor, dedup: Dedup | None = None, *, max_reads: int = MAX_READS_PER_CALL) -> ReadResult:
    """Repeats `read_new` until no complete line is left (or `max_reads` reads), merging the results."""
    result = read_new(cursor, dedup)
    calls, states, skipped, reset = list(result.calls), list(result.cost_states), result.skipped_lines, result.reset
    progressed, closed, interrupts = result.progressed, list(result.closed_messages), list(result.interrupts)
    reads = 1
    while result.progressed and result.remaining_bytes > 0 and reads < max_reads:
        result = read_new(result.cursor, dedup)
        calls += result.calls
        states += result.cost_states
        skipped += result.skipped_lines
        reset = reset or result.reset
        progressed = progressed or result.progressed
        closed += result.closed_messages
        interrupts += result.interrupts
        reads += 1
    return replace(
        result,
        calls=calls,
        cost_states=states,
        skipped_lines=skipped,
        reset=reset,
        progressed=progressed,
        closed_messages=closed,
        interrupts=interrupts,
    )


def _fingerprint(fd: int, offset: int) -> str:
    """A hash of the file's first bytes and of the bytes just before `offset`: changes when the file was rewritten."""
    if offset <= 0:
        return ""
    head = os.pread(fd, min(offset, _FINGERPRINT_HEAD_BYTES), 0)
    start = max(0, offset - _FINGERPRINT_BYTES)
    digest = hashlib.sha1(head, usedforsecurity=False)
    digest.update(os.pread(fd, offset - start, start))
    return digest.hexdigest()


def _read(
    fd: int,
    size: int,
    dev: int,
    ino: int,
    cursor: Cursor,
    dedup: Dedup | None,
    max_bytes: int,
    max_line_bytes: int,
    calls_only: bool = False,
    cost_states: bool = True,
) -> ReadResult:
    reset: str | None = None
    if cursor.dev is not None and (cursor.dev, cursor.ino) != (dev, ino):
        reset = "rotated"
    elif size < cursor.offset:
        reset = "truncated"
    elif cursor.offset > 0 and _fingerprint(fd, cursor.offset) != cursor.fingerprint:
        reset = "rewritten"
    if reset is not None:
        _log.info("transcript %s was %s; reading it again from the start", cursor.path, reset)
        # The cost-state baseline survives: Claude Code's totals are per session, not per file.
        keep = {k: v for k, v in cursor.context.items() if k == "last_cost"}
        cursor = Cursor(path=cursor.path, context=keep)
    cursor = replace(cursor, dev=dev, ino=ino)
    offset = cursor.offset
    skipped = 0
    skipping = cursor.skipping
    if skipping:
        offset, skipping = _skip_long_line(fd, offset, size, max_bytes)
        skipped = 0 if skipping else 1
    data, consumed, over_long = (
        (b"", 0, False) if skipping else _complete_lines(fd, offset, size, max_bytes, max_line_bytes)
    )
    if over_long:
        _log.warning("transcript %s: a line at byte %d is over %d bytes; skipped", cursor.path, offset, max_line_bytes)
        offset, skipping = _skip_long_line(fd, offset, size, max_bytes)
        skipped += 0 if skipping else 1
    parser = LineParser(
        cursor.path, cursor.context, skip_repeats=dedup is not None, calls_only=calls_only, cost_states=cost_states
    )
    parse_in = parser.parse_in
    calls: list[LlmCall] = []
    states: list[CostState] = []
    interrupts: list[Interrupt | ApiError | RefusedCall] = []
    # The lines are parsed in place, between newlines found by memchr: cutting the buffer into a bytes object per
    # line (split) copied every byte once more, most of them in lines that are never decoded.
    find = data.find
    length = consumed  # the complete lines: the read may hold the start of the next line after them
    start = 0
    while start < length:
        end = find(b"\n", start, length)
        if end < 0:
            end = length
        line_start, start = start, end + 1
        if line_start == end:
            continue
        if data[line_start] in _SPACES and data[line_start:end].isspace():  # a copy only for the rare blank line
            continue
        item = parse_in(data, line_start, end, offset + line_start)
        if item is None:
            continue
        if isinstance(item, LlmCall):
            if dedup is not None:
                seen = dedup.observe(item)
                if seen.outcome is Outcome.DUPLICATE:
                    continue
                if seen.outcome is Outcome.REPLACED:
                    item = replace(item, replaces=seen.previous)
            calls.append(item)
        elif isinstance(item, CostState):
            states.append(item)
        else:
            interrupts.append(item)
    skipped += parser.bad_lines
    new_offset = offset + consumed
    new_cursor_ = replace(
        cursor,
        offset=new_offset,
        fingerprint=_fingerprint(fd, new_offset),
        skipping=skipping,
        context=parser.context(),
    )
    return ReadResult(
        new_cursor_,
        calls=calls,
        cost_states=states,
        remaining_bytes=max(size - new_offset, 0),
        progressed=new_offset != cursor.offset or reset is not None,
        reset=reset,
        skipped_lines=skipped,
        closed_messages=parser.closed_messages,
        interrupts=interrupts,
    )


def _complete_lines(fd: int, offset: int, size: int, max_bytes: int, max_line_bytes: int) -> tuple[bytes, int, bool]:
    """The complete lines from `offset`: (bytes read, how many of them are complete lines, whether the first line is
    over the cap). The bytes after the last newline are left in place (not cut off, which copied the whole read)."""
    available = size - offset
    if available <= 0:
        return b"", 0, False
    chunk = os.pread(fd, min(available, max_bytes), offset)
    end = chunk.rfind(b"\n")
    if end >= 0:
        return chunk, end + 1, False
    if available <= len(chunk):
        return b"", 0, False  # the last line is still being written
    # One line longer than a read: take it whole if it is under the line cap.
    chunk = os.pread(fd, min(available, max_line_bytes), offset)
    end = chunk.find(b"\n")
    if end >= 0:
        return chunk, end + 1, False
    if len(chunk) >= max_line_bytes:
        return b"", 0, True
    return b"", 0, False


def _skip_long_line(fd: int, offset: int, size: int, max_bytes: int) -> tuple[int, bool]:
    """Drops bytes up to the next newline, at most `max_bytes` per call; returns (offset, still skipping)."""
    limit = min(size, offset + max(max_bytes, _SKIP_CHUNK))
    while offset < limit:
        chunk = os.pread(fd, min(_SKIP_CHUNK, limit - offset), offset)
        if not chunk:
            break
        end = chunk.find(b"\n")
        if end >= 0:
            return offset + end + 1, False
        offset += len(chunk)
    return offset, True
