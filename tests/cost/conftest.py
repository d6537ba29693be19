"""Fixtures for the cost tests: injected providers, fixture transcripts, the ccusage oracle."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_claude.ids import DeterministicIdGenerator

sys.path.insert(0, os.path.dirname(__file__))  # transcript_gen

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "claude-code-2.1.330" / "sessions"
MAIN_TRANSCRIPT = FIXTURES / "main" / "transcripts" / "-home-dev-project" / "c77f9869-7342-4145-9251-6b7551d2e158.jsonl"
CCUSAGE = REPO / ".cache" / "npm" / "ccusage" / "node_modules" / ".bin" / "ccusage"


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


def fixture_projects(target: Path) -> Path:
    """The fixture transcripts of every captured session, in a CLAUDE_CONFIG_DIR/projects layout."""
    projects = target / "projects"
    for session in ("main", "extras", "interactive"):
        shutil.copytree(FIXTURES / session / "transcripts", projects, dirs_exist_ok=True)
    return projects


@pytest.fixture
def ccusage() -> str:
    """The pinned ccusage binary; missing is a failure under CI, a skip elsewhere."""
    if CCUSAGE.exists():
        return str(CCUSAGE)
    message = f"ccusage not installed at {CCUSAGE}: run scripts/install-test-deps/npm-ccusage.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
