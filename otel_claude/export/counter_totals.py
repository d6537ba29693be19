"""Counters that survive an agent restart, so a killed agent loses no count.

Every counter the agent creates goes through `TotalsKeepingMeter`, which keeps the running total of each series beside
the SDK's own counter. The totals are saved in the state snapshot together with the spool position they belong
to, and a new agent adds them back at start: its cumulative counters go on where the old ones stopped, and a
batch re-processed after a crash is counted exactly once. Histograms cannot be restored this way (the API has
no way to set bucket counts); they restart from zero, which Prometheus reads as a counter reset.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Sequence

from opentelemetry.context import Context
from opentelemetry.metrics import (
    CallbackOptions,
    Counter,
    Histogram,
    Meter,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    Observation,
    UpDownCounter,
)
from opentelemetry.util.types import Attributes

CounterTotals = dict[str, dict[str, float]]  # metric name -> series key (JSON of sorted labels) -> total
CallbackT = Callable[[CallbackOptions], Iterable[Observation]] | Generator[Iterable[Observation], CallbackOptions, None]


def _key(attributes: Attributes) -> str:
    return json.dumps(sorted((attributes or {}).items()), separators=(",", ":"))


class _TotalsKeepingCounter(Counter):
    def __init__(self, inner: Counter, series: dict[str, float]) -> None:
        # Counter's own __init__ only stores name/unit/description for the API's no-op types; we delegate.
        self._inner = inner
        self._series = series
        for key, total in series.items():  # a restarted agent goes on from the saved totals
            inner.add(total, dict(json.loads(key)))

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self._inner.add(amount, attributes, context)
        if amount > 0:
            key = _key(attributes)
            self._series[key] = self._series.get(key, 0.0) + amount


class TotalsKeepingMeter(Meter):
    """A Meter whose counters record into `totals`; every other instrument is the inner meter's own."""

    def __init__(self, inner: Meter, totals: CounterTotals) -> None:
        super().__init__(inner.name, inner.version, inner.schema_url)
        self._inner = inner
        self._totals = totals

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        inner = self._inner.create_counter(name, unit, description)
        return _TotalsKeepingCounter(inner, self._totals.setdefault(name, {}))

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> UpDownCounter:
        return self._inner.create_up_down_counter(name, unit, description)

    def create_observable_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableCounter:
        return self._inner.create_observable_counter(name, callbacks, unit, description)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> Histogram:
        return self._inner.create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory
        )

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableGauge:
        return self._inner.create_observable_gauge(name, callbacks, unit, description)

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableUpDownCounter:
        return self._inner.create_observable_up_down_counter(name, callbacks, unit, description)

