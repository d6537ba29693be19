"""The agent's settings, read once at start from the config file overlaid with the process environment."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from otel_claude import semconv as sc
from otel_claude.handoff import env


@dataclass(frozen=True)
class AgentConfig:
    state_dir: str
    config_file: str
    otlp_endpoint: str
    traces_exporter: str
    metrics_exporters: frozenset[str]
    metric_export_interval_ms: int
    prometheus_host: str
    prometheus_port: int
    capture_content: bool
    project_label: str
    settle_ms: int
    idle_exit_s: float
    session_idle_s: float
    spool_max_bytes: int
    user_name: str
    debug: bool
    host_name: str = ""
    team: str = ""  # opt-in organisation label; "" = none
    metric_cardinality_limit: int = env.DEFAULT_METRIC_CARDINALITY_LIMIT
    metric_export_batch_size: int = env.DEFAULT_METRIC_EXPORT_BATCH_SIZE
    agent_nice: int = env.DEFAULT_AGENT_NICE
    problems: list[env.Problem] = field(default_factory=list)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


MAX_TEAM_CHARS = 64  # also what install --team accepts


def resource_attributes(text: str) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES as the SDK reads it: `k=v` pairs, comma-separated, values percent-decoded."""
    pairs = (item.partition("=") for item in text.split(","))
    return {key.strip(): unquote(value.strip()) for key, sep, value in pairs if sep and key.strip()}


def _team(raw: str, problems: list[env.Problem]) -> str:
    team = raw.strip()
    if len(team) > MAX_TEAM_CHARS or any(not ch.isprintable() for ch in team):
        problems.append(env.Problem(env.OTEL_CLAUDE_TEAM, team[:MAX_TEAM_CHARS], ""))
        return ""
    return team


def _missing_tls_files(merged: Mapping[str, str]) -> list[env.Problem]:
    """TLS files the config names but the agent cannot read: the SDK's exporter would then fall back to the system
    roots (or no client certificate) and every export to a private-CA gateway fail; say why at start."""
    names = (
        env.OTEL_EXPORTER_OTLP_CERTIFICATE,
        env.OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        env.OTEL_EXPORTER_OTLP_CLIENT_KEY,
    )
    return [
        env.Problem(name, merged[name], "the system CA roots and no client certificate (the file is unreadable)")
        for name in names
        if merged.get(name) and not os.access(merged[name], os.R_OK)
    ]


def _positive(merged: Mapping[str, str], name: str, default: int, problems: list[env.Problem]) -> int:
    value = env.get_int(merged, name, default, problems)
    if value < 1:
        problems.append(env.Problem(name, str(value), str(default)))
        return default
    return value


def _niceness(merged: Mapping[str, str], problems: list[env.Problem]) -> int:
    value = env.get_int(merged, env.OTEL_CLAUDE_AGENT_NICE, env.DEFAULT_AGENT_NICE, problems)
    if not 0 <= value <= env.MAX_NICE:
        problems.append(env.Problem(env.OTEL_CLAUDE_AGENT_NICE, str(value), str(env.DEFAULT_AGENT_NICE)))
        return env.DEFAULT_AGENT_NICE
    return value


def load(environ: Mapping[str, str] | None = None) -> AgentConfig:
    merged = env.effective_environment(environ)
    problems: list[env.Problem] = []
    project_mode = merged.get(env.OTEL_CLAUDE_PROJECT_LABEL, "name").strip().lower() or "name"
    if project_mode not in ("name", "hash", "none"):
        problems.append(env.Problem(env.OTEL_CLAUDE_PROJECT_LABEL, project_mode, "name"))
        project_mode = "name"
    metrics_exporters = frozenset(
        part.strip().lower() for part in merged.get(env.OTEL_METRICS_EXPORTER, "otlp,prometheus").split(",")
    ) - {""}
    problems += _missing_tls_files(merged)
    # Who and where: OTEL_RESOURCE_ATTRIBUTES may name them (an organisation's own user ids, a stable host name);
    # else the login and the host name. The resource and every metric label use these same values.
    declared = resource_attributes(merged.get(env.OTEL_RESOURCE_ATTRIBUTES, ""))
    return AgentConfig(
        state_dir=env.state_dir(merged),
        config_file=env.config_file(merged),
        otlp_endpoint=merged.get(env.OTEL_EXPORTER_OTLP_ENDPOINT) or env.DEFAULT_OTLP_ENDPOINT,
        traces_exporter=(merged.get(env.OTEL_TRACES_EXPORTER) or "otlp").strip().lower(),
        metrics_exporters=metrics_exporters,
        metric_export_interval_ms=env.get_int(
            merged, env.OTEL_METRIC_EXPORT_INTERVAL, env.DEFAULT_METRIC_EXPORT_INTERVAL_MS, problems
        ),
        prometheus_host=merged.get(env.OTEL_EXPORTER_PROMETHEUS_HOST) or env.DEFAULT_PROMETHEUS_HOST,
        prometheus_port=env.get_int(merged, env.OTEL_EXPORTER_PROMETHEUS_PORT, env.DEFAULT_PROMETHEUS_PORT, problems),
        capture_content=env.get_bool(merged, env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, False, problems),
        project_label=project_mode,
        settle_ms=env.get_int(merged, env.OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS, env.DEFAULT_SETTLE_MS, problems),
        idle_exit_s=env.get_float(
            merged, env.OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS, env.DEFAULT_IDLE_EXIT_SECONDS, problems
        ),
        session_idle_s=env.get_float(
            merged, env.OTEL_CLAUDE_SESSION_IDLE_SECONDS, env.DEFAULT_SESSION_IDLE_SECONDS, problems
        ),
        spool_max_bytes=env.get_int(merged, env.OTEL_CLAUDE_SPOOL_MAX_BYTES, env.DEFAULT_SPOOL_MAX_BYTES, problems),
        user_name=declared.get(sc.USER_NAME) or _user_name(),
        debug=merged.get(env.OTEL_CLAUDE_DEBUG) == "1",
        host_name=declared.get(sc.HOST_NAME) or socket.gethostname(),
        team=declared.get(sc.CC_TEAM) or _team(merged.get(env.OTEL_CLAUDE_TEAM, ""), problems),
        metric_cardinality_limit=_positive(
            merged, env.OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT, env.DEFAULT_METRIC_CARDINALITY_LIMIT, problems
        ),
        metric_export_batch_size=_positive(
            merged, env.OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE, env.DEFAULT_METRIC_EXPORT_BATCH_SIZE, problems
        ),
        agent_nice=_niceness(merged, problems),
        problems=problems,
    )


def apply_standard_variables(environ: Mapping[str, str] | None = None) -> None:
    """Puts the config file's OTEL_* values into os.environ where the process has none, so the SDK's own
    exporters and Resource read them exactly as they always do (the process environment still wins)."""
    for key, value in env.effective_environment(environ).items():
        if key.startswith("OTEL_") and key not in os.environ:
            os.environ[key] = value
