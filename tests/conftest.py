"""Shared fixtures: injected providers (never global), fixture sessions, and the test environment."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_claude.export.id_generator import DeterministicIdGenerator

FIXTURES = Path(__file__).parent / "fixtures" / "claude-code-2.1.330"
SESSIONS = FIXTURES / "sessions"
SESSION_NAMES = sorted(p.name for p in SESSIONS.iterdir() if (p / "hooks.jsonl").exists())
RECORDED_PROJECTS_DIR = "/home/dev/.claude/projects"

# Under the test suite the hook and agent re-raise their own errors instead of swallowing them.
os.environ.setdefault("OTEL_CLAUDE_DEBUG", "1")
# Processes the tests start (`python -m otel_claude ...`, agents) run this tree's package too, not another
# installed copy (pyproject's pythonpath only reaches this process).
_ROOT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join([_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])

# The slower tiers (pyproject's addopts deselects them; scripts/test.sh runs each with `-m TIER`).
TIERS = ("integration", "reliability", "prometheus", "node", "claude", "benchmark")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test belongs to at most one slow tier, so running every tier runs every test exactly once."""
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) > 1:
            raise pytest.UsageError(f"{item.nodeid} is in more than one tier: {tiers}")


def capture_entries(capture: Path) -> list[dict[str, Any]]:
    """The hook events a capture recorded (its hooks.jsonl), in order."""
    lines = (capture / "hooks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_session(name: str) -> list[dict[str, Any]]:
    return capture_entries(SESSIONS / name)


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
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch HOME with XDG dirs inside it, and no OTEL_* from the developer's shell."""
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith("OTEL_") and key != "OTEL_CLAUDE_DEBUG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    # Not the machine's /etc/otel-claude/otel-claude.env (install --managed) either.
    monkeypatch.setenv("OTEL_CLAUDE_SYSTEM_CONFIG_FILE", str(tmp_path / "system" / "otel-claude.env"))
    return home
