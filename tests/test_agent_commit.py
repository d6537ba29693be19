"""The agent's commit: records leave the spool only with a saved snapshot whose spans were exported, and records
whose export failed while the agent was stopping leave with the next snapshot that is saved, never without it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from conftest import load_session
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_claude import config as config_module
from otel_claude.agent import loop
from otel_claude.agent.loop import Agent
from otel_claude.export.providers import build
from otel_claude.handoff import env, spool
from otel_claude.live import state as state_store


class SwitchableExporter(SpanExporter):
    def __init__(self) -> None:
        self.up = False
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.up:
            return SpanExportResult.FAILURE
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    environ = {
        env.OTEL_CLAUDE_STATE_DIR: str(tmp_path / "state"),
        env.OTEL_CLAUDE_CONFIG_FILE: str(tmp_path / "none.env"),
        env.OTEL_METRICS_EXPORTER: "none",
        env.OTEL_TRACES_EXPORTER: "none",
    }
    config = config_module.load(environ)
    providers = build(config)
    providers.span_exporter = SwitchableExporter()
    yield Agent(config, providers)
    providers.tracer_provider.shutdown()
    providers.meter_provider.shutdown()


def test_records_of_a_failed_export_leave_with_the_next_saved_snapshot(agent: Agent) -> None:
    spool.ensure_layout(agent.paths)
    payloads = [json.dumps(event["payload"]).encode() for event in load_session("main")]
    names = [spool.append(agent.paths, 1_000 + i, payload) for i, payload in enumerate(payloads)]
    exporter = agent.providers.span_exporter
    assert isinstance(exporter, SwitchableExporter)

    agent.request_stop()  # the export fails once, then the agent gives up: it is stopping
    consumed = agent._process(agent._next_batch())
    assert consumed == names
    agent._commit(consumed)
    assert spool.pending_names(agent.paths) == names  # nothing left the spool without its spans
    assert state_store.load(agent.config.state_dir).committed_names == []

    exporter.up = True  # the stop's last settle reads: their save carries the failed batch's records
    agent._commit([])
    assert exporter.exported
    assert spool.pending_names(agent.paths) == []
    assert state_store.load(agent.config.state_dir).committed_names == names


class CountingExporter(SwitchableExporter):
    """Always up; remembers, at each export, how many records were still in the spool."""

    def __init__(self, paths: spool.SpoolPaths) -> None:
        super().__init__()
        self.up = True
        self.paths = paths
        self.pending_at_export: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.pending_at_export.append(len(spool.pending_names(self.paths)))
        return super().export(spans)


def test_records_that_trickle_in_are_committed_together_and_taken_once(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live session hands the agent one record at a time: they share one export and one snapshot save per
    COMMIT_DELAY_S instead of one each, are processed once each, and leave the spool only after that export."""
    spool.ensure_layout(agent.paths)
    exporter = CountingExporter(agent.paths)
    agent.providers.span_exporter = exporter
    saves: list[int] = []
    real_save = state_store.save
    monkeypatch.setattr(state_store, "save", lambda *args: (saves.append(1), real_save(*args))[1])
    payloads = [json.dumps(event["payload"]).encode() for event in load_session("main")][:12]
    runner = threading.Thread(target=agent.run, kwargs={"exit_when_idle": False})
    runner.start()
    try:
        for index, payload in enumerate(payloads):
            spool.append(agent.paths, time.time_ns() + index, payload)
            time.sleep(loop.POLL_INTERVAL_S / 2)  # each record reaches the loop on its own
        deadline = time.monotonic() + 30
        while spool.pending_names(agent.paths) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        agent.request_stop()
        runner.join(30)
    assert spool.pending_names(agent.paths) == []
    assert agent.processed_total == len(payloads) and agent.dead_letters_total == 0, "each record taken once"
    assert exporter.exported and len(exporter.pending_at_export) < len(payloads) / 2
    assert exporter.pending_at_export[0] > 0, "records leave the spool only after their export"
    assert len(saves) < len(payloads) / 2
