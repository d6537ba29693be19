"""Where an agent's time goes, from a cProfile stats file: self time summed by component.

A function's own time goes to the component its file belongs to. Time in code no component owns (builtins, the
standard library, pydantic's core, json) goes to its callers, in proportion to the time each caller spent in it,
and further up until a component's code is reached. cProfile slows Python-heavy code more than C calls and
syscalls, so the shares are a map of the work, not a measurement of it.
"""

from __future__ import annotations

import pstats
from collections.abc import Callable, Mapping

# (component, path fragments of the files it owns); the first match wins.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up (imports, providers)", ("<frozen", "otel_claude/export/providers.py", "otel_claude/agent/runner.py")),
    (
        "metrics (SDK instruments, counter totals, labels)",
        (
            "opentelemetry/sdk/metrics",
            "otel_claude/export/counter_totals.py",
            "otel_claude/export/summed_counters.py",
            "otel_claude/export/constant_labels.py",
            "otel_claude/live/metrics.py",
            "otel_claude/transcripts/usage_metrics.py",
            "otel_claude/agent/pipeline_metrics.py",
            "opentelemetry/exporter/prometheus",
            "prometheus_client",
            "metric_exporter",
        ),
    ),
    (
        "OTLP span encoding and export",
        (
            "otel_claude/export/otlp_spans.py",
            "otel_claude/export/outbox.py",
            "grpc/",
            "opentelemetry/exporter/",
            "google/protobuf",
        ),
    ),
    ("redaction", ("otel_claude/redaction/",)),
    (
        "span building (SDK tracer, span objects)",
        (
            "opentelemetry/sdk/trace",
            "opentelemetry/trace",
            "opentelemetry/attributes",
            "opentelemetry/context",
            "opentelemetry/sdk/util",
            "otel_claude/export/span_emitter.py",
            "otel_claude/export/ids.py",
        ),
    ),
    ("transcript reading (transcripts/)", ("otel_claude/transcripts/",)),
    ("snapshot save", ("otel_claude/live/state.py",)),
    (
        "spool: read, decode, release records",
        ("otel_claude/handoff/", "otel_claude/agent/records.py", "otel_claude/live/events.py"),
    ),
    ("session logic (live/, agent loop)", ("otel_claude/live/", "otel_claude/agent/", "otel_claude/export/")),
)
Func = tuple[str, int, str]
Share = dict[str, float]  # component -> fraction


def component(func: Func) -> str | None:
    path = func[0]
    for name, fragments in COMPONENTS:
        if any(fragment in path for fragment in fragments):
            return name
    return None


def breakdown(stats_path: str) -> dict[str, float]:
    """Seconds of (profiled) time per component, largest first."""
    raw: Mapping[Func, tuple[int, int, float, float, Mapping[Func, tuple[int, int, float, float]]]]
    raw = pstats.Stats(stats_path).stats  # type: ignore[attr-defined]
    memo: dict[Func, Share] = {}

    def owners(func: Func) -> Share:
        """How time spent inside `func` divides among components: its own, or its callers' (memoised)."""
        owner = component(func)
        if owner is not None:
            return {owner: 1.0}
        if func in memo:
            return memo[func]
        memo[func] = {"other": 1.0}  # a recursion back here while it is computed
        callers = raw[func][4] if func in raw else {}
        memo[func] = _mix({caller: edge[3] for caller, edge in callers.items()}, owners)
        return memo[func]

    totals: dict[str, float] = {}
    for func, (_, _, own, _, callers) in raw.items():
        if own <= 0:
            continue
        # A function no component owns is split by the time each caller spent in it itself.
        share = owners(func) if component(func) else _mix({c: e[2] for c, e in callers.items()}, owners)
        for name, fraction in share.items():
            totals[name] = totals.get(name, 0.0) + own * fraction
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _mix(weights: Mapping[Func, float], owners: Callable[[Func], Share]) -> Share:
    whole = sum(weight for weight in weights.values() if weight > 0)
    if not whole:
        return {"other": 1.0}
    mixed: Share = {}
    for caller, weight in weights.items():
        if weight > 0:
            for name, fraction in owners(caller).items():
                mixed[name] = mixed.get(name, 0.0) + fraction * weight / whole
    return mixed


def render(totals: Mapping[str, float]) -> list[str]:
    whole = sum(totals.values()) or 1.0
    return [f"  {share / whole:6.1%}  {name}" for name, share in totals.items()]
