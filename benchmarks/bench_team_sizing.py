"""Team sizing from the agent's real output: events, spans, metric series and OTLP bytes per active developer-hour,
and what 50, 500 and 5,000 developers send to a gateway and store in Tempo and Mimir.

Workload: copies of the real Claude Code 2.1.330 fixture sessions (tests/fixtures/claude-code-2.1.330/sessions/:
hook events and transcripts as the CLI wrote them), each copy with fresh session, prompt, tool and message ids,
spooled for a real `otel-claude agent` that exports OTLP/gRPC to a receiver in this process. Everything below is
counted from what the receiver got:
- per turn (a prompt to its Stop): hook events, spans, trace request bytes (protobuf, uncompressed);
- per agent: metric series in one export (OTLP data points, and Prometheus series: a histogram is a series per
  bucket plus _sum and _count) and the bytes of one metric export, which the agent repeats every export interval.

A developer-hour is `--turns-per-hour` turns (an assumption, not a measurement: the fixtures ran against a fake
API, so their wall-clock time says nothing about a person's pace) plus an hour of metric exports.

Three agents run in the same process, for the checks (--check exits 1 when one fails):
- A: one copy of the sessions, no team label; B: the same with a team label; C: --copies copies, team label.
- series(B) / series(A) == 1: the identity labels (user, host, team) add no series;
- series(C) / series(B) == 1: more sessions add no series (they are bounded by the label sets, not by time);
- spans(C) / spans(B) == copies (within 2 %): nothing lost or duplicated as the load grows.

    .venv/bin/python benchmarks/bench_team_sizing.py                 # 8 copies
    .venv/bin/python benchmarks/bench_team_sizing.py --short         # 2 copies, for CI
    .venv/bin/python benchmarks/bench_team_sizing.py --check         # exit 1 when a check fails
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.harness import Sandbox
from reliability.synthetic import templates
from support.otlp_receiver import OtlpReceiver

ORGANISATIONS = (50, 500, 5000)
SPAN_RATIO_TOLERANCE = 0.02


@dataclass
class AgentRun:
    label: str
    copies: int
    turns: int = 0
    events: int = 0
    spans: int = 0
    trace_bytes: int = 0
    metric_points: int = 0
    prometheus_series: int = 0
    metric_export_bytes: int = 0


def _prometheus_series(request: Any) -> tuple[int, int]:
    """(OTLP data points, Prometheus series) in one metrics export request."""
    points = series = 0
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                for point in getattr(metric, kind).data_points if kind else ():
                    points += 1
                    series += len(point.bucket_counts) + 2 if kind == "histogram" else 1
    return points, series + 1  # target_info: one series per agent


def run_agent(root: Path, receiver: OtlpReceiver, label: str, copies: int, team: str | None) -> AgentRun:
    """Spools `copies` copies of every fixture session, lets a real agent export them, and counts what arrived."""
    extra = {"OTEL_RESOURCE_ATTRIBUTES": f"user.name={label},host.name=host-{label}", "OTEL_METRICS_EXPORTER": "otlp"}
    if team:
        extra["OTEL_CLAUDE_TEAM"] = team
    sandbox = Sandbox(root / label, endpoint=receiver.endpoint, **extra)
    result = AgentRun(label, copies)
    records: list[tuple[int, bytes]] = []
    start_ns = time.time_ns() - 3_600_000_000_000
    for copy in range(copies):
        for index, template in enumerate(templates()):
            begin = start_ns + (copy * 100 + index) * 60_000_000_000  # one session after the other
            records += template.copy(begin, root / label / "transcripts", unique_transcripts=True)
    result.events = len(records)
    result.turns = sum(1 for _, payload in records if json.loads(payload).get("hook_event_name") == "UserPromptSubmit")
    sandbox.spool_records(records)
    try:
        sandbox.start_agent()
        if not sandbox.wait_drained(timeout=300):
            raise SystemExit(f"agent {label} did not drain its spool")
        # Stop flushes: the last metric export holds the final cumulative state of every series.
        sandbox.stop_agents(timeout=30)
    finally:
        sandbox.close()
    mine = [r for r in receiver.trace_requests if _user(r.resource_spans) == label]
    result.trace_bytes = sum(len(r.SerializeToString()) for r in mine)
    result.spans = sum(len(ss.spans) for r in mine for rs in r.resource_spans for ss in rs.scope_spans)
    metric_requests = [r for r in receiver.metric_requests if _user(r.resource_metrics) == label]
    if not metric_requests:
        raise SystemExit(f"agent {label} exported no metrics")
    last = metric_requests[-1]
    result.metric_points, result.prometheus_series = _prometheus_series(last)
    result.metric_export_bytes = len(last.SerializeToString())
    return result


def _user(resources: Any) -> str | None:
    for resource in resources:
        for kv in resource.resource.attributes:
            if kv.key == "user.name":
                return str(kv.value.string_value)
    return None


@dataclass
class Sizing:
    turns_per_hour: float
    export_interval_s: float
    peak_active_share: float
    hours_per_day: float
    run: AgentRun

    @property
    def events_per_hour(self) -> float:
        return self.run.events / self.run.turns * self.turns_per_hour

    @property
    def spans_per_hour(self) -> float:
        return self.run.spans / self.run.turns * self.turns_per_hour

    @property
    def trace_bytes_per_hour(self) -> float:
        return self.run.trace_bytes / self.run.turns * self.turns_per_hour

    @property
    def metric_bytes_per_hour(self) -> float:
        return self.run.metric_export_bytes * 3600 / self.export_interval_s

    def organisation(self, developers: int) -> dict[str, float]:
        active = developers * self.peak_active_share
        return {
            "developers": developers,
            "peak_events_per_s": active * self.events_per_hour / 3600,
            "peak_spans_per_s": active * self.spans_per_hour / 3600,
            "peak_ingress_kib_per_s": active * (self.trace_bytes_per_hour + self.metric_bytes_per_hour) / 3600 / 1024,
            # Upper bound: everyone active within Mimir's active-series window.
            "active_series": developers * self.run.prometheus_series,
            "samples_per_s": active * self.run.prometheus_series / self.export_interval_s,
            "trace_gib_per_day": developers * self.hours_per_day * self.trace_bytes_per_hour / (1 << 30),
        }


def render(runs: list[AgentRun], sizing: Sizing, checks: list[tuple[str, float, bool]]) -> str:
    run = sizing.run
    lines = ["agent runs (counted at the receiver):"]
    for r in runs:
        lines.append(
            f"  {r.label}: {r.copies} copies, {r.turns} turns, {r.events} events, {r.spans} spans, "
            f"{r.trace_bytes:,} trace bytes, {r.metric_points} metric points = {r.prometheus_series} Prometheus "
            f"series, {r.metric_export_bytes:,} bytes per metric export"
        )
    lines += [
        f"per turn:             {run.events / run.turns:.1f} events, {run.spans / run.turns:.1f} spans, "
        f"{run.trace_bytes / run.turns / 1024:.1f} KiB of trace requests",
        f"per developer-hour:   at {sizing.turns_per_hour:g} turns/h (assumed) and a metric export every "
        f"{sizing.export_interval_s:g} s: {sizing.events_per_hour:,.0f} events, {sizing.spans_per_hour:,.0f} spans, "
        f"{sizing.trace_bytes_per_hour / 1024:,.0f} KiB traces + {sizing.metric_bytes_per_hour / 1024:,.0f} KiB "
        f"metrics; {run.prometheus_series} active series per developer (bounded: see the checks)",
        f"organisations:        peak hour with {sizing.peak_active_share:.0%} of developers active; "
        f"{sizing.hours_per_day:g} active hours per developer-day",
        "| developers | peak events/s | peak spans/s | peak OTLP in (KiB/s) | active series (Mimir) "
        "| samples/s (remote write) | traces per day (GiB, OTLP) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for developers in ORGANISATIONS:
        o = sizing.organisation(developers)
        lines.append(
            f"| {developers:,} | {o['peak_events_per_s']:,.1f} | {o['peak_spans_per_s']:,.1f} "
            f"| {o['peak_ingress_kib_per_s']:,.0f} | {o['active_series']:,.0f} | {o['samples_per_s']:,.0f} "
            f"| {o['trace_gib_per_day']:,.2f} |"
        )
    lines.append("checks (target: each ratio 1.000):")
    lines += [f"  {name}: {value:.3f} {'ok' if ok else 'FAILED'}" for name, value, ok in checks]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="2 copies for agent C")
    parser.add_argument("--copies", type=int, help="copies of the fixture sessions for agent C (default 8)")
    parser.add_argument("--turns-per-hour", type=float, default=12.0, help="turns in an active developer-hour")
    parser.add_argument("--export-interval", type=float, default=10.0, help="seconds between metric exports")
    parser.add_argument("--peak-active-share", type=float, default=0.6, help="developers active in the peak hour")
    parser.add_argument("--hours-per-day", type=float, default=5.0, help="active hours per developer-day")
    parser.add_argument("--check", action="store_true", help="exit 1 when a check fails")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args(argv)
    copies = options.copies or (2 if options.short else 8)
    receiver = OtlpReceiver().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
            root = Path(tmp)
            a = run_agent(root, receiver, "a", 1, None)
            b = run_agent(root, receiver, "b", 1, "payments")
            c = run_agent(root, receiver, "c", copies, "payments")
    finally:
        receiver.stop()
    span_ratio = c.spans / b.spans / copies if b.spans else 0.0
    checks = [
        ("series(B)/series(A), identity labels add none", b.prometheus_series / a.prometheus_series,
         b.prometheus_series == a.prometheus_series),
        (f"series(C)/series(B), {copies}x the sessions add none", c.prometheus_series / b.prometheus_series,
         c.prometheus_series == b.prometheus_series),
        (f"spans(C)/spans(B)/{copies}, nothing lost or doubled", span_ratio,
         abs(span_ratio - 1) <= SPAN_RATIO_TOLERANCE),
    ]  # fmt: skip
    sizing = Sizing(options.turns_per_hour, options.export_interval, options.peak_active_share,
                    options.hours_per_day, c)  # fmt: skip
    print(render([a, b, c], sizing, checks))
    if options.json:
        organisations = [sizing.organisation(n) for n in ORGANISATIONS]
        figures = {"runs": [vars(r) for r in (a, b, c)], "organisations": organisations}
        Path(options.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if options.check and not all(ok for _, _, ok in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
