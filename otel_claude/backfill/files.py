"""Reading the transcript files of a backfill run: each file's calls from its cursor, here or in worker processes.

A file's read is a pure function of its path and cursor (`read_file`), so it can run in another process: with
`workers`, files are read by that many processes (forked before this one loads gRPC, see `start_method`) while this
one builds, exports and records. Results come back in file order, a bounded number of files and bytes ahead of the
consumer (AHEAD_*), so memory stays bounded whatever the corpus size, and everything that decides what is exported
and recorded (the ledger, cross-file dedup, batches) stays in the calling process, unchanged.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from otel_claude import gc_tuning
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.lines import open_message
from otel_claude.transcripts.model import ApiError, CostState, LlmCall, Usage
from otel_claude.transcripts.reader import Cursor, read_new
from otel_claude.transcripts.slotted import field_values

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from otel_claude.backfill.span_bodies import SpanBodies, SpanBody

_log = logging.getLogger(__name__)

_DEDUP_WINDOW = 4096  # message ids remembered within a file: the lines of one response are adjacent
MAX_AUTO_WORKERS = 4  # the default's cap: reading outpaces one exporting process with a few
PARALLEL_MIN_BYTES = 16 << 20  # below this, starting a worker costs more than it saves
# Files given to the readers ahead of the consumer: at least AHEAD_FILES per reader, and more while what they have yet
# to read stays under AHEAD_BYTES (at most AHEAD_MAX_FILES per reader). The readers read on while this process loads
# its exporters or waits for an acknowledgement, and what is held stays bounded: a file's calls take a fraction of its
# size.
AHEAD_FILES, AHEAD_MAX_FILES, AHEAD_BYTES = 2, 16, 24 << 20


def auto_workers(span_bodies: bool = False) -> int:
    """The default worker count: the CPUs this process may use but one (left to it), at least 1, at most
    MAX_AUTO_WORKERS; 0 on a single CPU, where a worker would only take turns with this process. When the readers
    also write span bodies, they do most of the work and this process mostly waits on them: one per CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))  # what taskset or a container's cpuset allows, not the machine's count
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return 0
    return min(MAX_AUTO_WORKERS, cpus if span_bodies else cpus - 1)


@dataclass
class FileRead:
    """What reading one file from its cursor found."""

    path: str
    cursor: Cursor
    calls: list[LlmCall] = field(default_factory=list)  # each response once; `replaces` set on a delta
    error: str | None = None
    bytes_read: int = 0
    unchanged: bool = False  # nothing new since the cursor
    cost_states: list[CostState] = field(default_factory=list)  # Claude Code's running totals (backfill/unseen.py)
    api_errors: list[ApiError] = field(default_factory=list)  # requests that failed
    from_start: bool = False  # read from the file's first byte: its calls and cost states are all of it
    span_bodies: list[SpanBody | None] = field(default_factory=list)  # calls[i]'s, when asked (backfill/span_bodies)


_CALL_FIELDS = tuple(f.name for f in fields(LlmCall))
_REPLACES_AT = _CALL_FIELDS.index("replaces")
_END_AT = _CALL_FIELDS.index("end_ns")
_values = field_values(LlmCall)  # a call's fields in order, read at C speed


def read_file(
    path: str,
    cursor: Cursor,
    on_progress: Callable[[int], None] | None = None,
    bodies: SpanBodies | None = None,
) -> FileRead:
    """The calls of one file from its cursor, each response once (the kept line of its lines); the new cursor.

    A response read before (an earlier run stopped inside it) and bettered now comes as a delta: `replaces` holds the
    usage counted before. `on_progress` gets the file offset after each bounded read. With `bodies`, each call's
    span body is written too (`span_bodies`), here, so that a reader process does that work."""
    start_offset = cursor.offset
    # Claude Code's totals are a session's: only its main transcript's cost-state lines count (as the agent's).
    subagent = os.path.basename(os.path.dirname(path)) == "subagents"
    dedup = Dedup(_DEDUP_WINDOW)
    buffered: dict[tuple[str, ...], LlmCall] = {}
    by_message: dict[str, tuple[str, ...]] = {}
    deltas: list[LlmCall] = []
    ends: dict[tuple[str, ...], int] = {}  # a response's last line (one line per content block): its span's end
    states: list[CostState] = []
    errors: list[ApiError] = []
    error = None
    while True:
        result = read_new(cursor, dedup, calls_only=True, cost_states=not subagent)
        if result.error:
            error = result.error
            break
        if result.reset:
            start_offset = 0
        states += result.cost_states
        errors += [notice for notice in result.interrupts if isinstance(notice, ApiError)]
        for key, end_ns in result.closed_messages:
            ends[key] = max(end_ns, ends.get(key, 0))
        for call in result.calls:
            if call.replaces is not None:
                stale = by_message.pop(call.message_id or "", None)
                if stale is None:
                    deltas.append(call)  # the line it betters is no longer buffered: add the difference only
                    continue
                buffered.pop(stale, None)
                call = _with(call, None, call.end_ns)  # not exported yet: the better line simply wins
            buffered[call.key] = call
            if call.message_id:
                by_message[call.message_id] = call.key
        cursor = result.cursor
        if on_progress is not None:
            on_progress(cursor.offset)
        if not result.progressed or result.remaining_bytes == 0:
            break
    last = open_message(cursor.context)  # the file's last response: no later line closed it
    if last is not None:
        ends[last[0]] = max(last[1], ends.get(last[0], 0))
    calls = [_with(call, call.replaces, ends[call.key]) if call.key in ends else call for call in buffered.values()]
    calls += deltas
    written: list[SpanBody | None] = []
    if bodies is not None:
        from otel_claude.backfill.span_bodies import span_bodies

        written = span_bodies(calls, bodies)
    return FileRead(
        path,
        cursor,
        calls,
        f"{path}: {error}" if error else None,
        max(cursor.offset - start_offset, 0),
        unchanged=cursor.offset == start_offset and not buffered and error is None,
        cost_states=states,
        api_errors=errors,
        from_start=start_offset == 0 and error is None,
        span_bodies=written,
    )


def _with(call: LlmCall, replaces: Usage | None, end_ns: int | None) -> LlmCall:
    """`call` with `replaces` and `end_ns` set; `dataclasses.replace` is several times slower in this loop."""
    values = list(_values(call))
    values[_REPLACES_AT], values[_END_AT] = replaces, end_ns
    return LlmCall(*values)


class FileReads:
    """`read_file` of each (path, cursor), in order: here when `workers` < 1, else in that many processes.

    A context manager: entering it starts the workers on the first files, so they read while the caller goes on
    (loading its exporters); leaving it stops them. `on_progress(path, offset)` follows the reads done here (a
    worker's file is reported whole, when it is back)."""

    def __init__(
        self,
        jobs: Sequence[tuple[str, Cursor]],
        workers: int,
        on_progress: Callable[[str, int], None] | None = None,
        bodies: SpanBodies | None = None,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        self._jobs = deque(jobs)
        self._sizes = sizes or {}  # a file's size, where known: what it has left to read counts toward AHEAD_BYTES
        self._ahead_bytes = 0
        self._bodies = bodies
        self._workers = workers if len(jobs) > 1 else 0
        self._on_progress = on_progress
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[tuple[str, Cursor, Future[FileRead], int]] = deque()

    def __enter__(self) -> FileReads:
        if self._workers > 0:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context(start_method())
            # A forked reader's collector would walk (and so copy, page by page) every object it inherited: frozen.
            self._pool = ProcessPoolExecutor(self._workers, mp_context=context, initializer=_reader_started)
            self._submit()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_pool()

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self) -> None:
        assert self._pool is not None
        while self._jobs and self._room():
            path, cursor = self._jobs.popleft()
            size = max(self._sizes.get(path, 0) - cursor.offset, 0)
            self._ahead_bytes += size
            future = self._pool.submit(read_file, path, cursor, None, self._bodies)
            self._pending.append((path, cursor, future, size))

    def _room(self) -> bool:
        """Whether another file may be given to the readers: the bound on results held in memory."""
        pending = len(self._pending)
        if pending < AHEAD_FILES * self._workers:
            return True
        return pending < AHEAD_MAX_FILES * self._workers and self._ahead_bytes < AHEAD_BYTES

    def ready(self) -> bool:
        """Whether the next file's read is done (or made here when asked for): False while a reader is still on it."""
        return not self._pending or self._pending[0][2].done()

    def __iter__(self) -> Iterator[FileRead]:
        while self._pending:
            path, cursor, future, size = self._pending.popleft()
            self._ahead_bytes -= size
            try:
                read = future.result()
            except Exception as exc:  # a worker that died (killed, out of memory, unable to start): read here
                _log.warning("backfill: a reader process failed (%r); reading the remaining files here", exc)
                self._jobs.extendleft(reversed([(path, cursor), *((p, c) for p, c, _, _ in self._pending)]))
                self._pending.clear()
                self._ahead_bytes = 0
                self._stop_pool()
                break
            self._submit()
            yield read
        while self._jobs:
            path, cursor = self._jobs.popleft()
            progress = None if self._on_progress is None else functools.partial(self._on_progress, path)
            yield read_file(path, cursor, progress, self._bodies)


def _reader_started() -> None:
    gc_tuning.start_up_done(collect=False)  # what it inherited lives as long as the reader


def start_method() -> str:
    """How reader processes start. Forked while this process has no thread but its own and has not loaded gRPC
    (backfill starts its readers before it loads its exporters): a fork starts in milliseconds with the modules
    already imported, where a spawned reader imports them again (about 0.1 to 0.2 CPU s each). Spawned otherwise:
    a fork would copy the locks of threads and gRPC channels in whatever state they are in. On Linux only, where
    fork is Python's own default: macOS's system frameworks are not safe to use in a forked child (Python spawns
    there by default since 3.8)."""
    if sys.platform.startswith("linux") and "grpc" not in sys.modules and threading.active_count() == 1:
        return "fork"
    return "spawn"


def discover(paths: Iterable[str]) -> list[str]:
    """Every `*.jsonl` regular file under `paths` (files or directories), sorted, without following symlinked dirs."""
    found: set[str] = set()
    for raw in paths:
        path = os.path.abspath(os.path.expanduser(raw))
        if os.path.isfile(path):
            found.add(path)
            continue
        for directory, _dirs, names in os.walk(path):
            for name in names:
                if name.endswith(".jsonl"):
                    full = os.path.join(directory, name)
                    if os.path.isfile(full):
                        found.add(full)
    return sorted(found)


def file_size(path: str) -> int:
    """Its size, 0 if it cannot be had (gone since it was found)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
