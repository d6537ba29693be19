"""Counters whose increments are summed per label set until `flush`, then added to the SDK's counter in one call.

The SDK's own work per measurement (cleaning the attributes, hashing them once per reader, aggregating) cost the
agent more than all its own per-event work on metrics: a batch of 512 records makes a few thousand increments to a
few dozen series. A cumulative counter exported after `flush` holds the same totals either way, and the agent
flushes once per batch, before it saves the snapshot, so a reader waits at most one batch for an increment.

An increment made inside a span's context (a tool call's, whose exemplar links the series to the trace) is not
summed: an exemplar is one measurement, with that measurement's value. Other instruments are the inner meter's.

Bound: at most one pending sum per series, and each counter's series are bounded by the cardinality limit the
caller applies before this meter (export/counter_totals.py folds what is past it into the overflow series).
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.metrics import (
    Counter,
    Meter,
)
from opentelemetry.util.types import Attributes, AttributeValue

from otel_claude.export.delegating_meter import DelegatingMeter

_SeriesKey = tuple[tuple[str, AttributeValue], ...]


class _SummedCounter(Counter):
    def __init__(self, inner: Counter) -> None:
        # Counter's own __init__ only stores name/unit/description for the API's no-op types; we delegate.
        self._inner = inner
        self._pending: dict[_SeriesKey, float] = {}

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        if context is not None or amount < 0:  # an exemplar's measurement, or an error the SDK reports: as is
            self._inner.add(amount, attributes, context)
            return
        key: _SeriesKey = tuple(attributes.items()) if attributes else ()
        self._pending[key] = self._pending.get(key, 0) + amount

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for key, amount in pending.items():
            self._inner.add(amount, dict(key))


class SummingMeter(DelegatingMeter):
    """A Meter whose counters sum their increments until `flush`; every other instrument is the inner meter's."""

    def __init__(self, inner: Meter) -> None:
        super().__init__(inner)
        self._counters: list[_SummedCounter] = []

    def flush(self) -> None:
        """Adds every pending sum to the SDK's counters."""
        for counter in self._counters:
            counter.flush()

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        counter = _SummedCounter(self._inner.create_counter(name, unit, description))
        self._counters.append(counter)
        return counter
