"""Counters go on across an agent restart from the totals saved with the snapshot, counting nothing twice."""

from __future__ import annotations

import json

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_claude.export.counter_totals import CounterTotals, TotalsKeepingMeter


def _points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        labels = tuple(sorted((k, str(v)) for k, v in (point.attributes or {}).items()))
                        found[labels] = float(point.value)  # type: ignore[union-attr]
    return found


def test_a_restarted_meter_continues_from_the_saved_totals() -> None:
    ledger: CounterTotals = {}
    reader = InMemoryMetricReader()
    counter = TotalsKeepingMeter(MeterProvider(metric_readers=[reader]).get_meter("t"), ledger).create_counter("c")
    counter.add(2, {"tool": "Bash"})
    counter.add(1, {"tool": "Read"})
    saved = json.loads(json.dumps(ledger))  # what the snapshot holds (it is saved as JSON)
    counter.add(5, {"tool": "Bash"})  # processed after the snapshot, then the agent is killed

    restarted_reader = InMemoryMetricReader()
    meter = TotalsKeepingMeter(MeterProvider(metric_readers=[restarted_reader]).get_meter("t"), saved)
    restarted = meter.create_counter("c")
    restarted.add(5, {"tool": "Bash"})  # the same batch, re-processed once
    assert _points(restarted_reader, "c") == {(("tool", "Bash"),): 7.0, (("tool", "Read"),): 1.0}
    assert _points(reader, "c") == {(("tool", "Bash"),): 7.0, (("tool", "Read"),): 1.0}
