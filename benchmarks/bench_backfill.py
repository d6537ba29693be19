"""Backfill end to end beside ccusage, on the same generated corpus, in one run: the ratio of their times.

Generates sessions (a main transcript and a subagent transcript each) in a ~/.claude/projects layout, then times,
each as a fresh process, alternately:
- the baseline, ccusage 20.0.24 `session --offline --json` (it reads the same files and sums tokens and cost);
- `otel-claude backfill` exporting spans and metrics over OTLP gRPC to a local receiver (in this process, on
  the other CPU), with a fresh ledger each time;
- `otel-claude backfill` with OTEL_TRACES_EXPORTER=none and OTEL_METRICS_EXPORTER=none (reads and prices only).
Each is run `--repeat` times, interleaved, and the median taken; so is the SDK floor (a process that times only the
OTel SDK's share for the same calls: OTLP-encoding their spans and recording their token histogram points).
The benchmark checks that backfill's cost equals ccusage's, that every call arrived at the receiver as a span, and
reports each process's peak RSS, on the corpus and on a quarter of it (memory must not grow with the corpus).

Target (issue 14): backfill with export within 3x ccusage's time on a 100 MB corpus.

    .venv/bin/python benchmarks/bench_backfill.py                 # 100 MB corpus (and 25 MB)
    .venv/bin/python benchmarks/bench_backfill.py --short         # 20 MB corpus (and 5 MB), for CI
    .venv/bin/python benchmarks/bench_backfill.py --check         # exit 1 unless cost equal and memory flat
    .venv/bin/python benchmarks/bench_backfill.py --check-target  # ... and within 3x ccusage's time
    .venv/bin/python benchmarks/bench_backfill.py --cpu 1         # every timed process pinned to CPU 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cost"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.otlp_receiver import OtlpReceiver

REPO = Path(__file__).resolve().parents[1]

SESSION_BYTES = 4_000_000
CCUSAGE = REPO / ".cache" / "npm" / "ccusage" / "node_modules" / ".bin" / "ccusage"
TARGET_RATIO = 3.0
RSS_GROWTH_SLACK_BYTES = 32 << 20  # the full corpus may use this much more than a quarter of it


def generate(root: str, total: int) -> int:
    from transcript_gen import corpus_lines

    written = 0
    index = 0
    while written < total:
        session = f"{index:08d}-0000-4000-8000-000000000000"
        project = os.path.join(root, f"-home-dev-project{index % 7}")
        os.makedirs(os.path.join(project, session, "subagents"), exist_ok=True)
        for path, size, agent in (
            (os.path.join(project, f"{session}.jsonl"), SESSION_BYTES * 3 // 4, None),
            (os.path.join(project, session, "subagents", "agent-a1.jsonl"), SESSION_BYTES // 4, "a1"),
        ):
            with open(path, "w", encoding="utf-8") as handle:
                for line in corpus_lines(session, size, seed=index, agent_id=agent):
                    handle.write(line + "\n")
            written += os.path.getsize(path)
        index += 1
    return written


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    peak_rss: int = 0
    output: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


FLOOR = r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from otel_claude.backfill.run import discover
from otel_claude.export.readable import readable_span
from otel_claude.transcripts.attributes import session_attributes
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.llm_calls import build_llm_span, turn_trace_id
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor, read_all_new
from otel_claude.transcripts.usage_metrics import UsageMetrics
table, resource, scope = bundled_table(), Resource.create({}), InstrumentationScope("otel_claude")
calls = [c for path in discover([sys.argv[1]]) for c in read_all_new(Cursor(path=path), Dedup(4096)).calls]
pairs = []
for call in calls:
    cost = cost_of_call(call.usage, call.model, call.timestamp_ns, table)
    common = session_attributes(call.session_id, "project", "dev", backfill=True)
    span = build_llm_span(call, cost, turn_trace_id(call.session_id, call.prompt_id), None, common.span, table.version)
    pairs.append((call, common.metric, readable_span(span, resource, scope)))
spans = [span for _, _, span in pairs]
started = time.perf_counter()
for start in range(0, len(spans), 512):
    encode_spans(spans[start : start + 512]).SerializeToString()
encode = time.perf_counter() - started
metrics = UsageMetrics(MeterProvider().get_meter("floor"))
started = time.perf_counter()
for call, labels, _ in pairs:
    metrics._histogram(call, labels)
histogram = time.perf_counter() - started
print(json.dumps({"calls": len(calls), "encode": encode, "histogram": histogram}))
"""


def sdk_floor(root: str, env: dict[str, str], pin: Sequence[str]) -> dict[str, float]:
    """Seconds the OTel SDK alone needs for this corpus's calls: OTLP-encoding their spans, and recording their two
    `gen_ai.client.token.usage` points: what any SDK-native backfill pays on top of reading, measured here."""
    done = subprocess.run(
        [*pin, sys.executable, "-c", FLOOR, root], env=env, capture_output=True, text=True, timeout=900, check=True
    )
    floor: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return floor


def timed(argv: Sequence[str], env: dict[str, str], timing: Timing) -> None:
    """Runs `argv` to completion; records its wall time and its own peak RSS.

    The peak is the child's VmHWM, read from /proc while it runs: getrusage's ru_maxrss would include this
    process's size at fork time (the receiver holds every span it got), which Linux carries across exec."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        peak = 0
        while True:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _vm_hwm(process.pid))
            time.sleep(0.005)  # the exit is seen within 5 ms: small beside the shortest run (ccusage, ~0.3 s)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({process.returncode}):\n{err.read().decode()[-3000:]}")
        timing.output = out.read().decode()
    timing.seconds.append(elapsed)
    timing.peak_rss = max(timing.peak_rss, peak)


def _vm_hwm(pid: int) -> int:
    """The peak resident set of `pid` so far, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class Row:
    size: int
    calls: int
    ccusage: Timing
    export: Timing
    count_only: Timing
    ccusage_usd: float
    backfill_usd: float
    spans: int
    floor: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.export.median / self.ccusage.median


def measure(scratch: str, total: int, repeat: int, cpu: int | None) -> Row:
    config_dir = os.path.join(scratch, f"claude-{total}")
    root = os.path.join(config_dir, "projects")
    size = generate(root, total)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ccusage_env = {**base_env, "CLAUDE_CONFIG_DIR": config_dir, "HOME": config_dir, "NO_COLOR": "1"}
    ours_env = {
        **base_env,
        "PYTHONPATH": str(REPO),
        "HOME": config_dir,
        "OTEL_CLAUDE_CONFIG_FILE": os.path.join(config_dir, "none.env"),
    }
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    ccusage, export, count_only = Timing(), Timing(), Timing()
    floors: list[dict[str, float]] = []
    receiver = OtlpReceiver().start()
    try:
        for attempt in range(repeat):
            timed([*pin, str(CCUSAGE), "session", "--offline", "--json"], ccusage_env, ccusage)
            receiver.trace_requests.clear()
            receiver.metric_requests.clear()
            state = os.path.join(scratch, f"state-{total}-{attempt}")
            env = {
                **ours_env,
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "otlp",
            }
            backfill = [sys.executable, "-m", "otel_claude", "backfill", root, "--state-dir", state, "--json"]
            timed([*pin, *backfill, "--no-progress"], env, export)
            none_env = {**ours_env, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}
            timed([*pin, *backfill, "--no-progress"], none_env, count_only)
            floors.append(sdk_floor(root, ours_env, pin))
        spans = len(receiver.spans())
    finally:
        receiver.stop()
    floor = {key: statistics.median(f[key] for f in floors) for key in floors[0]}
    theirs = json.loads(ccusage.output)["totals"]
    ours = json.loads(export.output)
    if ours["calls_exported"] != spans or ours["calls_remaining"]:
        raise SystemExit(f"backfill exported {ours['calls_exported']} calls but the receiver got {spans} spans")
    usd = ours["cost_usd"]
    return Row(size, ours["calls_exported"], ccusage, export, count_only, theirs["totalCost"], usd, spans, floor)


def render(rows: list[Row], cpu: int | None) -> str:
    mib = 1 << 20
    lines = [
        f"backfill vs ccusage (median of each; {'pinned to CPU ' + str(cpu) if cpu is not None else 'not pinned'}; "
        "receiver in the benchmark process)",
        f"{'corpus':>8} {'calls':>7} {'ccusage s':>10} {'export s':>9} {'ratio':>6} {'count-only s':>13} "
        f"{'MB/s':>6} {'ccusage USD':>12} {'backfill USD':>13} {'RSS export':>11}",
    ]
    for row in rows:
        lines.append(
            f"{row.size / 1e6:6.0f}MB {row.calls:7d} {row.ccusage.median:10.2f} {row.export.median:9.2f} "
            f"{row.ratio:5.2f}x {row.count_only.median:13.2f} {row.size / 1e6 / row.export.median:6.1f} "
            f"{row.ccusage_usd:12.4f} {row.backfill_usd:13.4f} {row.export.peak_rss / mib:9.0f}MB"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a 20 MB corpus (and 5 MB), for CI")
    parser.add_argument("--megabytes", type=int, help="corpus size (default 100, or 20 with --short)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (the median is reported)")
    parser.add_argument("--cpu", type=int, help="pin every timed process to this CPU (default: not pinned)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless cost equals ccusage's and memory is flat")
    parser.add_argument(
        "--check-target", action="store_true", help=f"exit 1 also unless within {TARGET_RATIO:g}x of ccusage's time"
    )
    args = parser.parse_args(argv)
    if not CCUSAGE.exists():
        raise SystemExit(f"ccusage not installed at {CCUSAGE}: run scripts/install-test-deps/npm-ccusage.sh")
    total = (args.megabytes or (20 if args.short else 100)) * 1_000_000
    repeat = 1 if args.short and args.repeat == 3 else args.repeat
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as scratch:
        rows = [measure(scratch, size, repeat, args.cpu) for size in (total // 4, total)]
    print(render(rows, args.cpu))
    small, large = rows
    same_cost = all(abs(row.backfill_usd - row.ccusage_usd) <= 1e-6 * max(row.ccusage_usd, 1.0) for row in rows)
    flat = large.export.peak_rss <= small.export.peak_rss + RSS_GROWTH_SLACK_BYTES
    ok = same_cost and flat  # what --check holds; the speed target is printed beside it (--check-target holds it)
    target_met = large.ratio <= TARGET_RATIO
    floor = large.floor["encode"] + large.floor["histogram"]
    print(
        f"SDK floor on {large.size / 1e6:.0f} MB: OTLP encoding of {large.floor['calls']:.0f} spans "
        f"{large.floor['encode']:.2f} s + token histogram {large.floor['histogram']:.2f} s = {floor:.2f} s "
        f"({floor / large.ccusage.median:.2f}x ccusage), before any reading"
    )
    print(
        f"RESULT {large.size / 1e6:.0f} MB: backfill with export {large.export.median:.2f} s, ccusage "
        f"{large.ccusage.median:.2f} s: {large.ratio:.2f}x (target <= {TARGET_RATIO:g}x); count-only "
        f"{large.count_only.median / large.ccusage.median:.2f}x; cost {'equal' if same_cost else 'DIFFERENT'}; "
        f"peak RSS {large.export.peak_rss >> 20} MiB vs {small.export.peak_rss >> 20} MiB at a quarter "
        f"({'flat' if flat else 'GROWING'}); check {'ok' if ok else 'FAILED'}; "
        f"speed target {'met' if target_met else 'MISSED'}"
    )
    if (args.check or args.check_target) and not ok:
        return 1
    return 1 if args.check_target and not target_met else 0


if __name__ == "__main__":
    sys.exit(main())
