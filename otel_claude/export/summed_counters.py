"""Counters whose increments are summed per label set until `flush`, then added to the SDK's counter in one call.

The SDK's own work per measurement (cleaning the attributes, hashing them once per reader, aggregating) cost the
agent more than all its own per-event work on metrics: a batch of 512 records makes a few thousand increments to a
few dozen series. A cumulative counter exported after `flush` holds the same totals either way, and the agent
flushes once per batch, before it saves the snapshot, so a reader waits at most one batch for an increment.

An increment made inside a span's context (a tool call's, whose exemplar links the series to the trace) is not
summed: an exemplar is one measurement, with that measurement's value. Other instruments are the inner meter's.

A caller that increments the same few series for every call binds them (`bind`): the series' key is made once, and
an increment is an addition to its sum (backfill counts six increments per response).

Bound: one sum per series incremented since the flush before last, and each counter's series are bounded by the
cardinality limit the caller applies before this meter (export/counter_totals.py folds what is past it into the
overflow series).
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.metrics import (
    Counter,
    Meter,
)
from opentelemetry.util.types import Attributes, AttributeValue

from otel_claude.export.delegating_meter import DelegatingMeter

_SeriesKey = tuple[tuple[str, AttributeValue], ...]


class _Sum:
    """One series' increments since the last flush. `touched`: an increment of zero still creates the series.
    `retired`: left out of the counter at a flush that found it untouched; a bound increment then finds a new one."""

    __slots__ = ("amount", "retired", "touched")

    def __init__(self) -> None:
        self.amount: int | float = 0
        self.touched = False
        self.retired = False


class _SummedCounter(Counter):
    def __init__(self, inner: Counter) -> None:
        # Counter's own __init__ only stores name/unit/description for the API's no-op types; we delegate.
        self._inner = inner
        self._sums: dict[_SeriesKey, _Sum] = {}  # the series incremented since the flush before last

    def _sum(self, key: _SeriesKey) -> _Sum:
        total = self._sums.get(key)
        if total is None:
            total = self._sums[key] = _Sum()
        return total

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        if context is not None or amount < 0:  # an exemplar's measurement, or an error the SDK reports: as is
            self._inner.add(amount, attributes, context)
            return
        total = self._sum(tuple(attributes.items()) if attributes else ())
        total.amount += amount
        total.touched = True

    def bind(self, attributes: Attributes) -> Callable[[int | float], None]:
        """`add` for one label set, its series found once: for a caller that adds to the same few series per call.
        `attributes` is copied now; a later change to the caller's mapping does not move the increments."""
        key: _SeriesKey = tuple(attributes.items()) if attributes else ()
        inner, labels, total = self._inner, dict(key), self._sum(key)

        def add(amount: int | float) -> None:
            nonlocal total
            if amount < 0:
                inner.add(amount, labels)  # the SDK reports it
                return
            if total.retired:
                total = self._sum(key)
            total.amount += amount
            total.touched = True

        return add

    def flush(self) -> None:
        sums = self._sums
        for key, total in list(sums.items()):
            if total.touched:
                amount, total.amount, total.touched = total.amount, 0, False
                self._inner.add(amount, dict(key))
            else:  # nothing since the last flush: forgotten, so that what is kept is bounded by two flushes' series
                total.retired = True
                del sums[key]


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
