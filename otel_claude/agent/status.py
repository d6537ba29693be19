"""The agent's status file (`status.json` in the state dir), which `otel-claude status` reads."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from otel_claude.config import AgentConfig
from otel_claude.export.outbox import ExportResult
from otel_claude.export.providers import Providers
from otel_claude.handoff import spool
from otel_claude.version import __version__

if TYPE_CHECKING:
    from otel_claude.agent.loop import Agent


def status_path(state_dir: str) -> str:
    return os.path.join(state_dir, "status.json")


def count_lines(path: str) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
    except OSError:
        return 0


def _result(result: ExportResult) -> dict[str, Any]:
    return {"ok": result.ok, "at": result.at, "error": result.error, "failures": result.failures}


class StatusWriter:
    def __init__(self, config: AgentConfig, providers: Providers) -> None:
        self._config = config
        self._providers = providers
        self._paths = spool.SpoolPaths(config.state_dir)
        self._started = time.time()

    def dropped_count(self) -> int:
        return count_lines(self._paths.drops_log) + count_lines(os.path.join(spool.fallback_dir(), "drops.log"))

    def write(self, agent: Agent, *, running: bool) -> None:
        backlog_records, backlog_bytes = agent._backlog
        document = {
            "version": __version__,
            "pid": os.getpid(),
            "running": running,
            "started_at": self._started,
            "updated_at": time.time(),
            "records_processed": agent.processed_total,
            "dead_letters": agent.dead_letters_total,
            "spool": {"records": backlog_records, "bytes": backlog_bytes, "max_bytes": self._config.spool_max_bytes},
            "dropped_records": agent._dropped,
            "open_sessions": len(agent.state.sessions),
            "span_export": _result(self._providers.span_result),
            "metric_export": _result(self._providers.metric_result),
            "endpoints": {
                "otlp": self._config.otlp_endpoint if self._config.traces_exporter == "otlp" else None,
                "prometheus": self._providers.prometheus_endpoint,
            },
            "capture_content": self._config.capture_content,
            "unknown_models": sorted(agent.state.unknown_models),
            "config_problems": [f"{p.name}={p.value!r} (using {p.default})" for p in self._config.problems],
        }
        path = status_path(self._config.state_dir)
        tmp = f"{path}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, spool.FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2)
            os.replace(tmp, path)
        except OSError:
            pass  # status is a convenience; the agent's work goes on


def read_status(state_dir: str) -> dict[str, Any] | None:
    try:
        with open(status_path(state_dir), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
