"""The health of otel-claude's own pipeline: spool backlog, drops, records processed, dead letters, export failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_claude import semconv as sc


class PipelineMetrics:
    """The health of otel-claude's own pipeline: spool backlog, drops, dead letters, export failures."""

    def __init__(self, meter: Meter, backlog: Callable[[], tuple[int, int]], dropped: Callable[[], int]) -> None:
        self._backlog = backlog
        self._dropped = dropped
        meter.create_observable_gauge(
            sc.METRIC_SPOOL_BACKLOG, [self._observe_backlog], "{record}", "Records waiting in the spool"
        )
        meter.create_observable_gauge(
            sc.METRIC_SPOOL_BACKLOG_BYTES, [self._observe_backlog_bytes], sc.UNIT_BYTES, "Bytes waiting in the spool"
        )
        meter.create_observable_counter(
            sc.METRIC_SPOOL_DROPPED, [self._observe_dropped], "{record}", "Records the hook could not spool"
        )
        self._processed = meter.create_counter(sc.METRIC_RECORDS_PROCESSED, "{record}", "Spool records processed")
        self._dead_letters = meter.create_counter(sc.METRIC_DEAD_LETTERS, "{record}", "Records dead-lettered")
        self._export_failures = meter.create_counter(sc.METRIC_EXPORT_FAILURES, "{export}", "Failed exports")

    def _observe_backlog(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._backlog()[0])

    def _observe_backlog_bytes(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._backlog()[1])

    def _observe_dropped(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._dropped())

    def processed(self, count: int) -> None:
        if count:
            self._processed.add(count)

    def dead_letter(self, reason: str) -> None:
        self._dead_letters.add(1, {sc.CC_DEAD_LETTER_REASON: reason})

    def export_failed(self, signal: str) -> None:
        self._export_failures.add(1, {sc.CC_EXPORT_SIGNAL: signal})
