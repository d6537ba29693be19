"""Counters that survive an agent restart, so a killed agent loses no count.

Every counter the agent creates goes through `TotalsKeepingMeter`, which keeps the running total of each series beside
the SDK's own counter. The totals are saved in the state snapshot together with the spool position they belong
to, and a new agent adds them back at start: its cumulative counters go on where the old ones stopped, and a
batch re-processed after a crash is counted exactly once. Histograms cannot be restored this way (the API has
no way to set bucket counts); they restart from zero, which Prometheus reads as a counter reset.
"""

from __future__ import annotations

import json

from opentelemetry.context import Context
from opentelemetry.metrics import (
    Counter,
    Meter,
)
from opentelemetry.util.types import Attributes

from otel_claude import semconv as sc
from otel_claude.export.delegating_meter import DelegatingMeter

CounterTotals = dict[str, dict[str, float]]  # metric name -> series key (JSON of sorted labels) -> total


# The SDK's own overflow series (an OTel name, not one of Claude Code's: semconv holds every name we spell).
OVERFLOW_ATTRIBUTES: dict[str, str | bool | int | float] = {sc.OTEL_METRIC_OVERFLOW: True}
OVERFLOW_KEY = json.dumps(sorted(OVERFLOW_ATTRIBUTES.items()), separators=(",", ":"))
DEFAULT_SERIES_LIMIT = 2000  # the SDK's default cardinality limit


KEY_CACHE_SIZE = 4096  # label sets whose ledger key is remembered; the cache starts over past it


def _key(attributes: Attributes) -> str:
    return json.dumps(sorted((attributes or {}).items()), separators=(",", ":"))


class _Keys:
    """The ledger key of a label set, remembered: the same few label sets come back on every event, and the JSON
    is the most expensive part of an increment."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], str] = {}

    def __call__(self, attributes: Attributes) -> str:
        if not attributes:
            return _key(attributes)
        try:
            probe = tuple(attributes.items())
            known = self._known.get(probe)
        except TypeError:  # a list value is not hashable: computed each time
            return _key(attributes)
        if known is None:
            if len(self._known) >= KEY_CACHE_SIZE:
                self._known.clear()
            known = self._known[probe] = _key(attributes)
        return known


class _TotalsKeepingCounter(Counter):
    def __init__(self, inner: Counter, series: dict[str, float], limit: int) -> None:
        # Counter's own __init__ only stores name/unit/description for the API's no-op types; we delegate.
        self._inner = inner
        self._series = series
        self._limit = limit
        self._keys = _Keys()
        _fold_overflow(series, limit)
        for key, total in series.items():  # a restarted agent goes on from the saved totals
            inner.add(total, dict(json.loads(key)))

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        if amount <= 0:
            self._inner.add(amount, attributes, context)
            return
        key = self._keys(attributes)
        if key not in self._series and len(self._series) - (OVERFLOW_KEY in self._series) >= self._limit:
            # Past the limit the SDK adds this to its overflow series; the saved totals do the same, so the snapshot
            # stays bounded (limit + 1 series per counter) and a restart restores the series the SDK kept.
            key, attributes = OVERFLOW_KEY, OVERFLOW_ATTRIBUTES
        self._inner.add(amount, attributes, context)
        self._series[key] = self._series.get(key, 0.0) + amount


def _fold_overflow(series: dict[str, float], limit: int) -> None:
    """A ledger saved with a higher limit: its series past the first `limit` fold into the overflow series, which
    goes last (restored last, it lands where the SDK puts what is past its limit)."""
    keys = [key for key in series if key != OVERFLOW_KEY]
    spill = sum(series.pop(key) for key in keys[limit:])
    overflow = series.pop(OVERFLOW_KEY, 0.0) + spill
    if overflow:
        series[OVERFLOW_KEY] = overflow


class TotalsKeepingMeter(DelegatingMeter):
    """A Meter whose counters record into `totals`; every other instrument is the inner meter's own."""

    def __init__(self, inner: Meter, totals: CounterTotals, series_limit: int = DEFAULT_SERIES_LIMIT) -> None:
        super().__init__(inner)
        self._totals = totals
        self._series_limit = max(series_limit, 1)

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        inner = self._inner.create_counter(name, unit, description)
        return _TotalsKeepingCounter(inner, self._totals.setdefault(name, {}), self._series_limit)
