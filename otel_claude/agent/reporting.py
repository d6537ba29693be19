"""What `otel-claude status` shows of a running agent, built from its parts (agent/loop.py calls it)."""

from __future__ import annotations

import os
import time

from otel_claude.agent.status import AgentStatus, ExportState
from otel_claude.config import AgentConfig
from otel_claude.export.providers import Providers
from otel_claude.live import state as state_store
from otel_claude.live.state import AgentState


def agent_status(
    config: AgentConfig,
    providers: Providers,
    state: AgentState,
    *,
    running: bool,
    started_at: float,
    processed: int,
    dead_letters: int,
    backlog: tuple[int, int],
    dropped: int,
) -> AgentStatus:
    """`backlog`: (records, bytes on disk) at the last spool scan; `dropped`: records the hooks could not spool."""
    prometheus = providers.prometheus
    return AgentStatus(
        pid=os.getpid(),
        running=running,
        started_at=started_at,
        updated_at=time.time(),
        records_processed=processed,
        dead_letters=dead_letters,
        backlog_records=backlog[0],
        backlog_bytes=backlog[1],
        spool_max_bytes=config.spool_max_bytes,
        dropped_records=dropped,
        open_sessions=len(state.sessions),
        settle_reads=len(state.settles),
        held_spans=len(state.held),
        unexported_spans=len(providers.outbox),
        span_export=ExportState(**vars(providers.span_result)),
        metric_export=ExportState(**vars(providers.metric_result)),
        otlp_endpoint=config.otlp_endpoint if config.traces_exporter == "otlp" else None,
        prometheus_endpoint=prometheus.endpoint if prometheus else None,
        capture_content=config.capture_content,
        unknown_models=sorted(state.unknown_models),
        config_problems=[f"{p.name}={p.value!r} (using {p.default})" for p in config.problems],
        prometheus_error=prometheus.error if prometheus else None,
        corrupt_snapshots=state_store.kept_aside(config.state_dir),
    )
