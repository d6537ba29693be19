"""Fixtures for the cost tests: injected providers and the ccusage oracle."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cost.support import CCUSAGE
from otel_claude.ids import DeterministicIdGenerator


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider(id_generator=DeterministicIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def ccusage() -> str:
    """The pinned ccusage binary; missing is a failure under CI, a skip elsewhere."""
    if CCUSAGE.exists():
        return str(CCUSAGE)
    message = f"ccusage not installed at {CCUSAGE}: run scripts/install-test-deps/npm-ccusage.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
