"""Paths and helpers shared by the cost tests (a module of its own, so no test imports `conftest` by name)."""

from __future__ import annotations

import shutil
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SpanExporter

from otel_claude.backfill.delivery import Delivery

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "claude-code-2.1.330" / "sessions"
MAIN_TRANSCRIPT = FIXTURES / "main" / "transcripts" / "-home-dev-project" / "c77f9869-7342-4145-9251-6b7551d2e158.jsonl"
CCUSAGE = REPO / ".cache" / "npm" / "ccusage" / "node_modules" / ".bin" / "ccusage"


def fixture_projects(target: Path) -> Path:
    """The fixture transcripts of every captured session, in a CLAUDE_CONFIG_DIR/projects layout."""
    projects = target / "projects"
    for session in ("main", "extras", "interactive"):
        shutil.copytree(FIXTURES / session / "transcripts", projects, dirs_exist_ok=True)
    return projects


def memory_delivery(span_exporter: SpanExporter, meter_provider: MeterProvider) -> Delivery:
    """Backfill's receivers as in-memory SDK parts: every export acknowledged (the injected providers' exporter)."""
    return Delivery(meter_provider, Resource.create({}), span_exporter, flush_metrics=lambda: True)
