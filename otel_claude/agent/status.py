"""The agent's status file (`status.json` in the state dir): one format, written by the agent, read by `status`.

Standard library only, so `otel-claude status` and `replay` read it without importing the OTel SDK. The writer
takes a small `AgentStatus` value, never the agent itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from otel_claude.agent.drops import dropped_count as dropped_count  # what `status` shows
from otel_claude.handoff import paths
from otel_claude.version import __version__


@dataclass(frozen=True)
class ExportState:
    """The outcome of the last export of one signal; `ok` is None until the first export."""

    ok: bool | None = None
    at: float | None = None
    error: str | None = None
    failures: int = 0


@dataclass(frozen=True)
class AgentStatus:
    pid: int
    running: bool
    started_at: float
    updated_at: float
    records_processed: int
    dead_letters: int
    backlog_records: int
    backlog_bytes: int
    spool_max_bytes: int
    dropped_records: int
    open_sessions: int
    span_export: ExportState
    metric_export: ExportState
    otlp_endpoint: str | None
    prometheus_endpoint: str | None
    capture_content: bool
    unknown_models: list[str] = field(default_factory=list)
    config_problems: list[str] = field(default_factory=list)
    prometheus_error: str | None = None  # why /metrics is not served (the agent retries)
    corrupt_snapshots: list[str] = field(default_factory=list)  # unusable state snapshots, kept aside
    # Transcript re-reads scheduled, turn or subagent spans held until theirs, and finished spans waiting for their
    # commit: work not exported yet although the spool may be empty (`replay --wait` waits for all to be 0).
    settle_reads: int = 0
    held_spans: int = 0
    unexported_spans: int = 0

    def to_document(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "pid": self.pid,
            "running": self.running,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "records_processed": self.records_processed,
            "dead_letters": self.dead_letters,
            "spool": {"records": self.backlog_records, "bytes": self.backlog_bytes, "max_bytes": self.spool_max_bytes},
            "dropped_records": self.dropped_records,
            "open_sessions": self.open_sessions,
            "span_export": asdict(self.span_export),
            "metric_export": asdict(self.metric_export),
            "endpoints": {"otlp": self.otlp_endpoint, "prometheus": self.prometheus_endpoint},
            "capture_content": self.capture_content,
            "unknown_models": sorted(self.unknown_models),
            "config_problems": list(self.config_problems),
            "prometheus_error": self.prometheus_error,
            "corrupt_snapshots": list(self.corrupt_snapshots),
            "settling": {
                "reads": self.settle_reads,
                "held_spans": self.held_spans,
                "unexported_spans": self.unexported_spans,
            },
        }


MAX_STATUS_BYTES = 1 << 20
count_lines = paths.count_lines  # what `status` shows of the drop and dead-letter logs


def status_path(state_dir: str) -> str:
    return paths.StatePaths(state_dir).status


def write_status(state_dir: str, status: AgentStatus) -> None:
    try:
        # Not fsync'd: status is rewritten every few seconds and a stale one after a crash is harmless.
        paths.write_atomic(status_path(state_dir), json.dumps(status.to_document(), indent=2).encode(), sync=False)
    except OSError:
        pass  # status is a convenience; the agent's work goes on


def read_status(state_dir: str) -> dict[str, Any] | None:
    try:
        data = json.loads(paths.read_regular(status_path(state_dir), MAX_STATUS_BYTES))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
