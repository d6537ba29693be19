"""A bounded file of the agent's most recent finished spans, for `otel-claude trace` to show without a backend.

Written by an SDK SpanExporter (behind a BatchSpanProcessor, off the agent's loop) that receives the very spans the
redacting processor hands to the OTLP outbox, so it holds what Tempo would (content capture rules included).

One JSON object per line and span: name, trace and span ids (hex, as in OTLP/JSON), parent span id, start and end
in Unix nanoseconds, the status description when the status is ERROR, and the attributes as the SDK holds them.
Not the OTLP/JSON encoding: building OTLP messages in Python costs about 0.35 ms a span and their JSON mapping
0.5 ms more (measured with the fixture spans), which nearly doubled the agent's CPU per event in
benchmarks/bench_agent_throughput.py; this costs a small fraction of that. Events and the resource are left out
(the tree does not show them). Lines are encoded by orjson (a dependency): json.dumps of every span was still
about 4 % of the agent's CPU under a backlog. A span orjson refuses (a lone surrogate, an integer past 64 bits) is
encoded by json as before; a NaN or infinite float is written as null (json wrote NaN, which is not JSON).

It is a view, not a delivery record: nothing is released or marked delivered because of it, and a batch the
BatchSpanProcessor drops under load is only missing from the view. Bounded: once it holds 2 * keep spans or
max_bytes, it is rewritten (atomically, mode 0600, never through a link) with the newest `keep` spans, within
half of max_bytes; those lines are kept in memory (at most that much), so a compaction does not read the file back.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

_log = logging.getLogger(__name__)
FILE_NAME = "recent-spans.jsonl"
FILE_MODE = 0o600
KEEP_SPANS = 500
MAX_BYTES = 8 * 2**20


def recent_spans_path(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


class RecentSpansExporter(SpanExporter):
    def __init__(self, path: str, keep: int = KEEP_SPANS, max_bytes: int = MAX_BYTES) -> None:
        self._path = path
        self._keep = keep
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._lines: int | None = None  # counted lazily from the file an earlier agent left
        self._tail: deque[bytes] = deque()  # the newest lines, what a compaction keeps (see _keep_tail)
        self._tail_bytes = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = list(map(_line, spans))
        try:
            with self._lock:
                self._append(lines)
        except OSError as exc:  # a view only: never stop the agent over it
            _log.warning("cannot write %s: %s", self._path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _append(self, lines: list[bytes]) -> None:
        if self._lines is None:
            self._tail, self._tail_bytes = deque(), 0
            self._lines = self._keep_tail([line.encode("utf-8") for line in _read_lines(self._path)])
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.write(fd, b"".join(lines))
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        self._lines += self._keep_tail(lines)
        if self._lines > 2 * self._keep or size > self._max_bytes:
            self._compact()

    def _keep_tail(self, lines: list[bytes]) -> int:
        """Keeps the newest lines in memory, as many as a compaction writes (`keep`, within half of max_bytes): a
        compaction then rewrites the file from them instead of reading it back. Returns len(lines)."""
        tail, budget = self._tail, self._max_bytes // 2
        for line in lines[-self._keep :]:
            tail.append(line)
            self._tail_bytes += len(line)
        while len(tail) > self._keep or self._tail_bytes > budget:
            self._tail_bytes -= len(tail.popleft())
        return len(lines)

    def _compact(self) -> None:
        tmp = self._path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.write(fd, b"".join(self._tail))
        finally:
            os.close(fd)
        os.replace(tmp, self._path)
        self._lines = len(self._tail)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _line(span: ReadableSpan) -> bytes:
    """One span's line, UTF-8, newline included."""
    record = _record(span)
    try:
        return orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8", "backslashreplace")


def _record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    error = span.status.description or "" if span.status.status_code is StatusCode.ERROR else None
    return {
        "name": span.name,
        "traceId": format(context.trace_id, "032x") if context else "",
        "spanId": format(context.span_id, "016x") if context else "",
        "parentSpanId": format(span.parent.span_id, "016x") if span.parent else "",
        "startTimeUnixNano": span.start_time or 0,
        "endTimeUnixNano": span.end_time or 0,
        "error": error,
        "attributes": dict(span.attributes or {}),
    }


def _read_lines(path: str) -> Iterator[str]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.endswith("\n"):  # a line still being written is skipped
                yield line


@dataclass
class SpanRecord:
    """One span read back from the file: what the trace view needs."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    error: str | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e9


def read_recent_spans(path: str) -> list[SpanRecord]:
    """Every span in the file, oldest first; unreadable lines are skipped."""
    records: list[SpanRecord] = []
    for line in _read_lines(path):
        try:
            item = json.loads(line)
            records.append(
                SpanRecord(
                    name=str(item["name"]),
                    trace_id=str(item["traceId"]),
                    span_id=str(item["spanId"]),
                    parent_span_id=str(item.get("parentSpanId") or ""),
                    start_ns=int(item["startTimeUnixNano"]),
                    end_ns=int(item["endTimeUnixNano"]),
                    error=item.get("error"),
                    attributes=dict(item["attributes"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return records
