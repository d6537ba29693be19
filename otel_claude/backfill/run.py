"""Backfill: past transcripts become the same LLM-call spans and token/cost metrics the agent makes live.

Files are streamed in bounded reads (the incremental reader), so memory stays flat whatever the corpus size: what
grows is the set of exported response hashes (8 bytes each on disk). Responses are deduplicated within a file with
ccusage's rules and across files by their message and request ids (a resumed session repeats earlier responses).
Spans keep their original timestamps and ids derived from message and request ids, and the ledger in the state dir
makes a second run export nothing new. Metrics recorded here carry the backfill run's time (the OTel SDK cannot
date a point in the past); `openmetrics_path` also writes dated daily samples for promtool (docs/backfill.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TextIO

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.backfill.ledger import ExportedCallsLedger, key_hash
from otel_claude.backfill.openmetrics import DailyTotals
from otel_claude.export.span_emitter import emit
from otel_claude.live.span_factory import project_label
from otel_claude.transcripts.cost import cost_of_call, day_of
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.llm_calls import build_llm_span, turn_trace_id
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.prices import PriceTable, load_table
from otel_claude.transcripts.reader import read_new
from otel_claude.transcripts.usage_metrics import UsageMetrics
from otel_claude.version import __version__

_log = logging.getLogger(__name__)

DEFAULT_ROOT = os.path.join("~", ".claude", "projects")
_DEDUP_WINDOW = 4096  # message ids remembered within a file: the lines of one response are adjacent
_FLUSH_EVERY = 1000  # spans: the batch processor's queue (2048 by default) must never overflow and drop them
_SAVE_EVERY_BYTES = 64 * 1024 * 1024


@dataclass
class BackfillSummary:
    files: int = 0
    files_unchanged: int = 0
    bytes_read: int = 0
    calls_exported: int = 0
    calls_already_exported: int = 0
    calls_outside_window: int = 0
    cost_usd: float = 0.0
    unknown_models: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    openmetrics_samples: int = 0


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


class Progress:
    """A one-line progress bar on a terminal stream, redrawn at most 5 times a second; silent when disabled."""

    def __init__(self, total_bytes: int, stream: TextIO | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._total = max(total_bytes, 1)
        self._stream = stream
        self._clock = clock
        self._start = clock()
        self._last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        if self._stream is None:
            return
        now = self._clock()
        if not final and now - self._last < 0.2:
            return
        self._last = now
        fraction = min(done / self._total, 1.0)
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed / 1e6
        eta = (self._total - done) / (done / elapsed) if done else 0.0
        bar = "#" * int(fraction * 30)
        self._stream.write(
            f"\rbackfill [{bar:<30}] {fraction * 100:5.1f}% {done / 1e6:8.1f}/{self._total / 1e6:.1f} MB "
            f"{rate:6.1f} MB/s ETA {eta:5.0f}s"
        )
        if final:
            self._stream.write("\n")
        self._stream.flush()


def _in_window(call: LlmCall, since: datetime | None, until: datetime | None) -> bool:
    seconds = call.timestamp_ns / 1e9
    return (since is None or seconds >= since.timestamp()) and (until is None or seconds < until.timestamp())


def run_backfill(
    paths: Sequence[str],
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    state_dir: str,
    progress: bool = True,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    prices: PriceTable | None = None,
    project_mode: str = "name",
    user_name: str = "",
    openmetrics_path: str | None = None,
    progress_stream: TextIO | None = None,
) -> BackfillSummary:
    """Exports the LLM calls of past transcripts under `paths` (default ~/.claude/projects) once.

    `tracer_provider` must use export.ids.DeterministicIdGenerator (as the agent's does), so span ids are the
    ones the agent would give. With `since`/`until` (UTC, until exclusive), calls outside the window are left
    for a later run and file offsets are not remembered.
    """
    started = time.monotonic()
    table = prices or load_table()
    files = discover(paths or [DEFAULT_ROOT])
    ledger = ExportedCallsLedger(state_dir)
    tracer = tracer_provider.get_tracer("otel_claude", __version__)
    metrics = UsageMetrics(meter_provider.get_meter("otel_claude", __version__))
    daily = DailyTotals() if openmetrics_path else None
    summary = BackfillSummary(files=len(files))
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += os.path.getsize(path)
    bar = Progress(total, (progress_stream or sys.stderr) if progress else None)
    windowed = since is not None or until is not None
    done_before = 0
    unsaved = 0
    pending_flush = 0
    for path in files:
        cursor = ledger.cursor(path)
        start_offset = cursor.offset
        # Per file: across files, the ledger's set of exported (message id, request id) hashes drops the copies
        # a resumed session makes of earlier responses, at 8 bytes a response instead of a dedup entry's ~1 kB.
        dedup = Dedup(_DEDUP_WINDOW)
        buffered: dict[tuple[str, ...], LlmCall] = {}
        by_message: dict[str, tuple[str, ...]] = {}
        deltas: list[LlmCall] = []
        while True:
            result = read_new(cursor, dedup)
            if result.error:
                summary.errors.append(f"{path}: {result.error}")
                break
            if result.reset:
                start_offset = 0
            for call in result.calls:
                if call.replaces is not None:
                    stale = by_message.pop(call.message_id or "", None)
                    if stale is None:
                        deltas.append(call)  # the line it betters was exported from an earlier file
                        continue
                    buffered.pop(stale, None)
                    call = replace(call, replaces=None)  # not exported yet: the better line simply wins
                buffered[call.key] = call
                if call.message_id:
                    by_message[call.message_id] = call.key
            cursor = result.cursor
            bar.update(done_before + cursor.offset)
            if not result.progressed or result.remaining_bytes == 0:
                break
        if cursor.offset == start_offset and not buffered and not result.error:
            summary.files_unchanged += 1
        summary.bytes_read += max(cursor.offset - start_offset, 0)
        unsaved += max(cursor.offset - start_offset, 0)
        for call in [*buffered.values(), *deltas]:
            if not _in_window(call, since, until):
                summary.calls_outside_window += 1
                continue
            pending_flush += _export(call, table, tracer, metrics, daily, ledger, summary, project_mode, user_name)
        if pending_flush >= _FLUSH_EVERY:
            tracer_provider.force_flush()
            pending_flush = 0
        if not windowed:
            ledger.cursors[path] = cursor
        done_before += _size(path)
        if unsaved >= _SAVE_EVERY_BYTES:
            tracer_provider.force_flush()
            ledger.save()
            unsaved = 0
    tracer_provider.force_flush()
    meter_provider.force_flush()
    ledger.save()
    bar.update(total, final=True)
    if daily is not None and openmetrics_path:
        summary.openmetrics_samples = daily.write(openmetrics_path)
    summary.seconds = time.monotonic() - started
    return summary


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _export(
    call: LlmCall,
    table: PriceTable,
    tracer: Tracer,
    metrics: UsageMetrics,
    daily: DailyTotals | None,
    ledger: ExportedCallsLedger,
    summary: BackfillSummary,
    project_mode: str,
    user_name: str,
) -> int:
    """Exports one call unless a run already did; returns 1 when a span was emitted."""
    hashed = key_hash(call.key)
    cost = cost_of_call(call.usage, call.model, call.timestamp_ns, table)
    project = project_label(call.cwd, project_mode)
    labels = {sc.CC_PROJECT: project} if project else {}
    if user_name:
        labels[sc.USER_NAME] = user_name
    if call.replaces is not None:
        # A better line for a response exported from an earlier file: add only the difference to the metrics.
        metrics.record(call, cost, labels, cost_of_call(call.replaces, call.model, call.timestamp_ns, table))
        return 0
    if hashed in ledger.exported:
        summary.calls_already_exported += 1
        return 0
    common: dict[str, AttributeValue] = {
        sc.SESSION_ID: call.session_id,
        sc.GEN_AI_CONVERSATION_ID: call.session_id,
        sc.CC_BACKFILL: True,
        **labels,
    }
    span = build_llm_span(call, cost, turn_trace_id(call.session_id, call.prompt_id), None, common, table.version)
    emit(tracer, span)
    metrics.record(call, cost, labels)
    if daily is not None:
        kinds = {
            sc.TOKEN_KIND_INPUT: call.usage.input_tokens,
            sc.TOKEN_KIND_OUTPUT: call.usage.output_tokens,
            sc.TOKEN_KIND_CACHE_READ: call.usage.cache_read_tokens,
            sc.TOKEN_KIND_CACHE_CREATION: call.usage.cache_creation_tokens,
        }
        daily.add(
            day_of(call.timestamp_ns),
            call.model,
            {**labels, sc.CC_COST_KNOWN: str(cost.known).lower()},
            kinds,
            cost.usd,
        )
    ledger.exported.add(hashed)
    summary.calls_exported += 1
    summary.cost_usd += cost.usd
    if not cost.known:
        summary.unknown_models.add(call.model)
    return 1
