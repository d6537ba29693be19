"""Backfill: past transcripts become the same LLM-call spans and token/cost metrics the agent makes live.

Files are streamed in bounded reads (the incremental reader, which parses only the lines that carry usage), so
memory stays flat whatever the corpus size: what grows is the set of response hashes (8 bytes each on disk).
Responses are deduplicated within a file with ccusage's rules and across files by their message and request ids (a
resumed session repeats earlier responses). Spans keep their original timestamps and ids derived from message and
request ids. Calls go out in batches; a batch enters the ledger only once every receiver acknowledged it, so a
receiver that is down loses nothing: the run stops after a bounded retry, and the next run exports what is left.
Metrics recorded here carry the backfill run's time (the OTel SDK cannot date a point in the past);
`openmetrics_path` also writes dated daily samples for promtool (docs/backfill.md).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TextIO

from otel_claude.backfill.batches import CallExport
from otel_claude.backfill.delivery import Delivery
from otel_claude.backfill.files import PARALLEL_MIN_BYTES, FileReads, discover, file_size
from otel_claude.backfill.ledger import ExportedCallsLedger
from otel_claude.backfill.openmetrics import DailyTotals
from otel_claude.backfill.progress import Progress
from otel_claude.backfill.summary import BackfillSummary
from otel_claude.backfill.unseen import SessionCostStates, is_subagent_transcript, session_id_of
from otel_claude.transcripts.prices import PriceTable, load_table

__all__ = ["DEFAULT_ROOT", "BackfillSummary", "discover", "run_backfill"]

DEFAULT_ROOT = os.path.join("~", ".claude", "projects")
DEFAULT_BATCH_CALLS = 2048  # calls per acknowledged batch: a failed export repeats at most this much work


def run_backfill(
    paths: Sequence[str],
    delivery: Delivery | Callable[[], Delivery],
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
    batch_calls: int = DEFAULT_BATCH_CALLS,
    workers: int = 0,
    span_bodies: bool = False,
) -> BackfillSummary:
    """Exports the LLM calls of past transcripts under `paths` (default ~/.claude/projects) once.

    With `since`/`until` (UTC, until exclusive), calls outside the window are left for a later run and file offsets
    are not remembered. When `delivery` exports nothing (a dry run, or every exporter `none`), nothing is recorded.
    When an export fails for good, the run reads on only to count what remains (`summary.calls_remaining`).
    `workers` processes read the files (0: this one does); with at least PARALLEL_MIN_BYTES to read. A callable
    `delivery` is called once reading has started, so the exporters' imports overlap the first reads. With
    `span_bodies` (pass it when spans go out over OTLP), the readers also write each call's span body.
    """
    started = time.monotonic()
    table = prices or load_table()
    files = discover(paths or [DEFAULT_ROOT])
    ledger = ExportedCallsLedger(state_dir)
    sizes = dict(zip(files, (file_size(path) for path in files), strict=True))
    jobs = [(path, ledger.cursor(path)) for path in files]
    to_read = sum(max(sizes[path] - cursor.offset, 0) for path, cursor in jobs)
    bar = Progress(sum(sizes.values()), (progress_stream or sys.stderr) if progress else None)
    done_before = 0

    def reading(path: str, offset: int) -> None:  # within a file read here; a worker's file counts when back
        bar.update(done_before + offset)

    bodies = None
    if span_bodies:
        from otel_claude.backfill.span_bodies import SpanBodies

        bodies = SpanBodies.of(table)
    with FileReads(jobs, workers if to_read >= PARALLEL_MIN_BYTES else 0, reading, bodies, sizes) as reads:
        if callable(delivery):
            delivery = delivery()  # the workers read meanwhile
        daily = DailyTotals() if openmetrics_path else None
        summary = BackfillSummary(files=len(files), endpoint=delivery.endpoint, delivered=delivery.exports)
        run = CallExport(delivery, ledger, summary, table, (since, until), project_mode, user_name, daily)
        windowed = since is not None or until is not None
        session: SessionCostStates | None = None  # a main transcript's cost-state lines, until its subagents are read
        for read in reads:
            if session is not None and not session.holds(read.path):
                run.finish_session(session, windowed)
                session = None
            if read.error:
                summary.errors.append(read.error)
            summary.files_unchanged += read.unchanged
            summary.bytes_read += read.bytes_read
            for call, body in zip(read.calls, read.span_bodies or [None] * len(read.calls), strict=True):
                run.handle(call, None, body)
            for error in read.api_errors:
                run.handle_api_error(error, session_id_of(read.path))
            if session is not None:
                session.add(read)
            if read.cost_states and not is_subagent_transcript(read.path):
                session = SessionCostStates(read)  # its cursor is recorded with the calls the lines show
            elif not windowed and not run.stopped:
                run.batch.cursors[read.path] = read.cursor
            done_before += sizes[read.path]
            bar.update(done_before)
            if len(run.batch) >= batch_calls:
                run.commit()
            elif not reads.ready():
                run.send_spans_while_waiting()
        if session is not None:
            run.finish_session(session, windowed)
    run.commit()
    bar.update(done_before, final=True)
    if daily is not None and openmetrics_path and not run.stopped:
        summary.openmetrics_samples = daily.write(openmetrics_path)
    summary.seconds = time.monotonic() - started
    return summary
