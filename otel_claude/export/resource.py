"""The resource, identity and series limits every exporter of ours shares: the agent's providers and backfill.

Apart from export/providers.py, so that backfill, which builds no TracerProvider, outbox or Prometheus server,
imports none of them (about 30 ms of its start-up).
"""

from __future__ import annotations

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import CardinalityLimits
from opentelemetry.sdk.resources import Resource

from otel_claude import semconv as sc
from otel_claude.config import AgentConfig
from otel_claude.handoff import env
from otel_claude.version import __version__


def identity(config: AgentConfig) -> dict[str, str]:
    """Who and where: user.name, host.name and, where the organisation opted in, claude_code.team. The same values
    go on the resource and, as labels, on every metric (export/constant_labels.py), so the two never disagree."""
    values = {sc.USER_NAME: config.user_name, sc.HOST_NAME: config.host_name, sc.CC_TEAM: config.team}
    return {key: value for key, value in values.items() if value}


def build_resource(config: AgentConfig) -> Resource:
    """service.name (OTEL_SERVICE_NAME, default claude-code), version, identity, plus OTEL_RESOURCE_ATTRIBUTES."""
    base = {
        sc.SERVICE_NAME: env.DEFAULT_SERVICE_NAME,
        sc.SERVICE_VERSION: __version__,
        **identity(config),
        sc.TELEMETRY_DISTRO_NAME: "otel-claude",
        sc.TELEMETRY_DISTRO_VERSION: __version__,
    }
    # Resource.create overlays OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME from the environment.
    return Resource.create(base)


HISTOGRAM_SHARE = 4


def cardinality_limits(limit: int) -> CardinalityLimits:
    """`limit` distinct label sets for every kind of instrument the agent uses (the SDK's default: 2000), a quarter
    of it for histograms: a histogram series is a line per bucket on /metrics, twenty times a counter's."""
    kinds = (Counter, UpDownCounter, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
    return {**dict.fromkeys(kinds, limit), Histogram: max(1, limit // HISTOGRAM_SHARE)}
