"""A Meter that puts the same few labels on every data point it records: who and where the agent runs.

Resource attributes reach Prometheus only as `target_info`, so a dashboard that sums cost per user or team across
many agents needs those names as labels on the series themselves. They are constant per agent (one user, one
host, one team per process), so they never multiply an agent's series: a team's series are bounded by the sum of
each agent's existing label sets. Labels an instrument sets itself win over the constant ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

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

from otel_claude.export.delegating_meter import CallbackT, DelegatingMeter


def _merged(constant: Mapping[str, str], attributes: Attributes) -> dict[str, Any]:
    return {**constant, **(attributes or {})}


class _LabelledCounter(Counter):
    def __init__(self, inner: Counter, constant: Mapping[str, str]) -> None:
        self._inner = inner
        self._constant = constant

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self._inner.add(amount, _merged(self._constant, attributes), context)


class _LabelledUpDownCounter(UpDownCounter):
    def __init__(self, inner: UpDownCounter, constant: Mapping[str, str]) -> None:
        self._inner = inner
        self._constant = constant

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self._inner.add(amount, _merged(self._constant, attributes), context)


class _LabelledHistogram(Histogram):
    def __init__(self, inner: Histogram, constant: Mapping[str, str]) -> None:
        self._inner = inner
        self._constant = constant

    def record(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self._inner.record(amount, _merged(self._constant, attributes), context)


def _labelled_callbacks(callbacks: Sequence[CallbackT] | None, constant: Mapping[str, str]) -> list[CallbackT] | None:
    if not callbacks:
        return None

    def wrap(callback: CallbackT) -> CallbackT:
        if not callable(callback):  # a generator callback: the SDK drives it with send(); left as it is
            return callback
        function: Callable[[CallbackOptions], Iterable[Observation]] = callback

        def labelled(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(o.value, _merged(constant, o.attributes), o.context) for o in function(options)]

        return labelled

    return [wrap(callback) for callback in callbacks]


class ConstantLabelsMeter(DelegatingMeter):
    """Wraps a Meter so every instrument it creates records `constant` labels beside its own."""

    def __init__(self, inner: Meter, constant: Mapping[str, str]) -> None:
        super().__init__(inner)
        self._constant = {key: value for key, value in constant.items() if value}

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        return _LabelledCounter(self._inner.create_counter(name, unit, description), self._constant)

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> UpDownCounter:
        return _LabelledUpDownCounter(self._inner.create_up_down_counter(name, unit, description), self._constant)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> Histogram:
        inner = self._inner.create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory
        )
        return _LabelledHistogram(inner, self._constant)

    def create_observable_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableCounter:
        labelled = _labelled_callbacks(callbacks, self._constant)
        return self._inner.create_observable_counter(name, labelled, unit, description)

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableGauge:
        labelled = _labelled_callbacks(callbacks, self._constant)
        return self._inner.create_observable_gauge(name, labelled, unit, description)

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> ObservableUpDownCounter:
        labelled = _labelled_callbacks(callbacks, self._constant)
        return self._inner.create_observable_up_down_counter(name, labelled, unit, description)
