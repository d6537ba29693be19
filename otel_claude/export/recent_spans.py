"""A bounded file of the agent's most recent finished spans, for `otel-claude trace` to show without a backend.

Written by an SDK SpanExporter behind the same redacting processor as the OTLP export, so it holds exactly what
Tempo would (content capture rules included). Each line is one span as an OTLP ExportTraceServiceRequest in the
protobuf JSON mapping (the SDK's own OTLP encoder, then json_format), so nothing here is a format of ours.

It is a view, not a delivery record: nothing is released or marked delivered because of it. Bounded: once it
holds 2 * keep lines or max_bytes, it is rewritten (atomically, mode 0600, never through a link) with the newest
`keep` spans that fit in half of max_bytes.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

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

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from google.protobuf.json_format import MessageToJson  # type: ignore[import-untyped]
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        lines = [MessageToJson(encode_spans([span]), indent=None) + "\n" for span in spans]
        try:
            with self._lock:
                self._append("".join(lines).encode("utf-8"), len(lines))
        except OSError as exc:  # a view only: never stop the agent over it
            _log.warning("cannot write %s: %s", self._path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _append(self, data: bytes, count: int) -> None:
        if self._lines is None:
            self._lines = sum(1 for _ in _read_lines(self._path))
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.write(fd, data)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        self._lines += count
        if self._lines > 2 * self._keep or size > self._max_bytes:
            self._compact()

    def _compact(self) -> None:
        kept: list[str] = []
        budget = self._max_bytes // 2
        for line in reversed(list(_read_lines(self._path))[-self._keep :]):
            budget -= len(line.encode("utf-8"))
            if budget < 0:
                break
            kept.append(line)
        tmp = self._path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.write(fd, "".join(reversed(kept)).encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, self._path)
        self._lines = len(kept)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


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
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e9


def read_recent_spans(path: str) -> list[SpanRecord]:
    """Every span in the file, oldest first; unreadable lines are skipped."""
    records: list[SpanRecord] = []
    for line in _read_lines(path):
        try:
            records.extend(_decode(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return records


def _decode(request: dict[str, Any]) -> Iterator[SpanRecord]:
    for resource_spans in request.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                status = span.get("status", {})
                yield SpanRecord(
                    name=span.get("name", ""),
                    trace_id=_hex(span.get("traceId", "")),
                    span_id=_hex(span.get("spanId", "")),
                    parent_span_id=_hex(span.get("parentSpanId", "")),
                    start_ns=int(span.get("startTimeUnixNano", 0)),
                    end_ns=int(span.get("endTimeUnixNano", 0)),
                    error=status.get("message", "") if status.get("code") == "STATUS_CODE_ERROR" else None,
                    attributes=_attributes(span.get("attributes", [])),
                    resource=resource,
                )


def _hex(value: str) -> str:
    return base64.b64decode(value).hex() if value else ""


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items}


def _value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    return None
