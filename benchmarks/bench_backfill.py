"""Backfill end to end beside ccusage, on the same generated corpus, in one run: the ratio of their times.

Generates sessions (a main transcript and a subagent transcript each) in a ~/.claude/projects layout, then times,
each as a fresh process, alternately:
- the baseline, ccusage 20.0.24 `session --offline --json` (it reads the same files and sums tokens and cost);
- `otel-claude backfill` exporting spans and metrics over OTLP gRPC to a local receiver (in this process, on
  the other CPU), with a fresh ledger each time, with its default reader processes (`--workers`);
- `otel-claude backfill` with OTEL_TRACES_EXPORTER=none and OTEL_METRICS_EXPORTER=none (reads and prices only);
- `otel-claude backfill` exporting from an empty directory: its start-up alone (imports, SDK, gRPC channel).
Each is run `--repeat` times, interleaved, and the median taken; so is the OTel floor (a process that times, in CPU
seconds, only the OTel side for the same calls: OTLP-encoding their spans with the encoder backfill's exporter uses
and with the SDK's own, and recording their token histogram points as backfill aggregates them and through an SDK
histogram that has a reader). It also prints the CPU time (user and system, from wait4) of ccusage and of the export
run with its reader processes: on two cores, their sum bounds how far more processes can help.
The benchmark checks that backfill's cost equals ccusage's, that every call arrived at the receiver as a span, and
reports peak RSS, on the corpus and on a quarter of it: the exporting process's own (memory must not grow with the
corpus: the check) and its sum with its reader processes'. It prints where backfill's time goes.

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
import threading
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
    cpu: list[float] = field(default_factory=list)  # user + system CPU s of the process and its reader processes
    peak_rss: int = 0  # the process's own peak (VmHWM)
    peak_tree: int = 0  # the peak of its resident set plus its reader processes' (sampled)
    output: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


FLOOR = r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from otel_claude.backfill.files import read_file
from otel_claude.backfill.run import discover
from otel_claude.backfill.spans import LlmSpans
from otel_claude.export.aggregated_histogram import AggregatedHistograms
from otel_claude.export.otlp_spans import encode_spans
from otel_claude.transcripts.attributes import session_attributes
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor
from otel_claude.transcripts.usage_metrics import UsageMetrics
table, resource, scope = bundled_table(), Resource.create({}), InstrumentationScope("otel_claude")
calls = [c for path in discover([sys.argv[1]]) for c in read_file(path, Cursor(path=path)).calls]
make = LlmSpans(resource, scope, table.version)
pairs = []
for call in calls:
    cost = cost_of_call(call.usage, call.model, call.timestamp_ns, table)
    common = session_attributes(call.session_id, "project", "dev", backfill=True)
    pairs.append((call, cost, common.metric, make(call, cost, common.span)))
spans = [span for *_, span in pairs]
def encoding(encode):
    started = time.process_time()
    for start in range(0, len(spans), 512):
        encode(spans[start : start + 512]).SerializeToString()
    return time.process_time() - started
sdk, ours = encoding(sdk_encode_spans), encoding(encode_spans)
def histogram(meter):
    metrics = UsageMetrics(meter)
    started = time.process_time()
    for call, cost, labels, _ in pairs:
        metrics._histogram(call.usage, metrics._label_sets(labels, call.model, call.requested_model, cost.known))
    return time.process_time() - started
# With a reader, as an SDK histogram would have (without one the SDK keeps no aggregation: a point costs nothing).
meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("floor")
histogram_sdk = histogram(meter)
aggregated = histogram(AggregatedHistograms(AggregationTemporality.CUMULATIVE).meter(meter))  # backfill's
print(json.dumps({"calls": len(calls), "encode_sdk": sdk, "encode": ours, "histogram": aggregated,
                  "histogram_sdk": histogram_sdk}))
"""


def sdk_floor(root: str, env: dict[str, str], pin: Sequence[str]) -> dict[str, float]:
    """CPU seconds the OTel side alone needs for this corpus's calls, before any reading: OTLP-encoding their spans
    (with the SDK's encoder, and with the one backfill's exporter uses) and recording their two
    `gen_ai.client.token.usage` points, aggregated as backfill does and through an SDK histogram with a reader."""
    done = subprocess.run(
        [*pin, sys.executable, "-c", FLOOR, root], env=env, capture_output=True, text=True, timeout=900, check=True
    )
    floor: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return floor


def timed(argv: Sequence[str], env: dict[str, str], timing: Timing) -> None:
    """Runs `argv` to completion; records its wall time, its own peak RSS and that of it with its worker processes.

    Read from /proc while it runs: the child's VmHWM, and the sum of the resident sets of the child and its
    descendants (backfill's reader processes), sampled every 20 ms. getrusage's ru_maxrss would include this
    process's size at fork time (the receiver holds every span it got), which Linux carries across exec."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        peak = tree = 0
        done = threading.Event()

        def sample() -> None:
            # Every 20 ms on a thread: the exit is timed exactly by waitpid below, and the sampling's own CPU (it
            # lists every thread of every process in the tree) stays small beside what it measures. At 5 ms it took
            # a share of the 2 CPUs that backfill's processes use, and none from single-process ccusage.
            nonlocal peak, tree
            while not done.wait(0.02):
                peak = max(peak, _vm_hwm(process.pid))
                tree = max(tree, peak, _tree_rss(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)  # its rusage counts the reader processes it waited for
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({process.returncode}):\n{err.read().decode()[-3000:]}")
        timing.output = out.read().decode()
    timing.seconds.append(elapsed)
    timing.cpu.append(usage.ru_utime + usage.ru_stime)
    timing.peak_rss = max(timing.peak_rss, peak)
    timing.peak_tree = max(timing.peak_tree, tree)


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


def _tree_rss(pid: int) -> int:
    """The resident sets of `pid` and its descendants now, summed, in bytes."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                total += next((int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


@dataclass
class Row:
    size: int
    calls: int
    ccusage: Timing
    export: Timing
    count_only: Timing
    startup: Timing  # backfill with export on an empty directory: imports, SDK and channel set-up, no file
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
        **{k: v for k, v in base_env.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONPATH": str(REPO),
        "HOME": config_dir,
        "OTEL_CLAUDE_CONFIG_FILE": os.path.join(config_dir, "none.env"),
        # As installed: pip compiles a package's bytecode at install time. Without it (PYTHONDONTWRITEBYTECODE, set
        # in some sandboxes) every run compiles otel_claude's modules again, ~0.1 s per process; the untimed
        # warm-up below fills this cache.
        "PYTHONPYCACHEPREFIX": os.path.join(scratch, "pycache"),
    }
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    ccusage, export, count_only, startup = Timing(), Timing(), Timing(), Timing()
    empty = os.path.join(scratch, f"empty-{total}")
    os.makedirs(empty, exist_ok=True)
    floors: list[dict[str, float]] = []
    receiver = OtlpReceiver().start()
    try:
        warm = [sys.executable, "-m", "otel_claude", "backfill", empty, "--json", "--no-progress"]
        for exporter in ("otlp", "none"):
            variables = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_EXPORTER": exporter}
            state = os.path.join(scratch, f"warm-{exporter}")
            timed([*warm, "--state-dir", state], {**ours_env, **variables, "OTEL_METRICS_EXPORTER": exporter}, Timing())
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
            nothing = [sys.executable, "-m", "otel_claude", "backfill", empty, "--state-dir", state + "-empty"]
            timed([*pin, *nothing, "--json", "--no-progress"], env, startup)
            floors.append(sdk_floor(root, ours_env, pin))
        spans = len(receiver.spans())
    finally:
        receiver.stop()
    floor = {key: statistics.median(f[key] for f in floors) for key in floors[0]}
    theirs = json.loads(ccusage.output)["totals"]
    ours = json.loads(export.output)
    if ours["calls_exported"] + ours["api_errors_exported"] != spans or ours["calls_remaining"]:
        raise SystemExit(f"backfill exported {ours['calls_exported']} calls but the receiver got {spans} spans")
    # ccusage counts the calls read from transcript lines: not those only Claude Code's cost-state lines show.
    usd = ours["cost_usd"] - sum(model["cost_usd"] for model in ours["cost_state_by_model"].values())
    return Row(
        size, ours["calls_exported"], ccusage, export, count_only, startup, theirs["totalCost"], usd, spans, floor
    )


def render(rows: list[Row], cpu: int | None) -> str:
    mib = 1 << 20
    lines = [
        f"backfill vs ccusage (median of each; {'pinned to CPU ' + str(cpu) if cpu is not None else 'not pinned'}; "
        "receiver in the benchmark process)",
        f"{'corpus':>8} {'calls':>7} {'ccusage s':>10} {'export s':>9} {'ratio':>6} {'count-only s':>13} "
        f"{'MB/s':>6} {'ccusage USD':>12} {'backfill USD':>13} {'RSS export':>11} {'+readers':>9} "
        f"{'CPU s ccusage/export':>21}",
    ]
    for row in rows:
        lines.append(
            f"{row.size / 1e6:6.0f}MB {row.calls:7d} {row.ccusage.median:10.2f} {row.export.median:9.2f} "
            f"{row.ratio:5.2f}x {row.count_only.median:13.2f} {row.size / 1e6 / row.export.median:6.1f} "
            f"{row.ccusage_usd:12.4f} {row.backfill_usd:13.4f} {row.export.peak_rss / mib:9.0f}MB "
            f"{row.export.peak_tree / mib:7.0f}MB {statistics.median(row.ccusage.cpu):10.2f}/"
            f"{statistics.median(row.export.cpu):.2f}"
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
    from otel_claude.backfill.files import auto_workers

    workers = f"{auto_workers(span_bodies=True)} (the default here, with export)"
    small, large = rows
    same_cost = all(abs(row.backfill_usd - row.ccusage_usd) <= 1e-6 * max(row.ccusage_usd, 1.0) for row in rows)
    flat = large.export.peak_rss <= small.export.peak_rss + RSS_GROWTH_SLACK_BYTES
    ok = same_cost and flat  # what --check holds; the speed target is printed beside it (--check-target holds it)
    target_met = large.ratio <= TARGET_RATIO
    floor = large.floor["encode"] + large.floor["histogram"]
    print(
        f"OTel floor on {large.size / 1e6:.0f} MB, CPU s before any reading: OTLP encoding of "
        f"{large.floor['calls']:.0f} spans {large.floor['encode']:.2f} s with the encoder backfill's exporter uses "
        f"(the SDK's own encoder: {large.floor['encode_sdk']:.2f} s) + token histogram aggregated as backfill does "
        f"{large.floor['histogram']:.2f} s (through the SDK with a reader: {large.floor['histogram_sdk']:.2f} s) = "
        f"{floor:.2f} s ({floor / large.ccusage.median:.2f}x ccusage)"
    )
    print(
        f"where the time goes on {large.size / 1e6:.0f} MB (medians, wall s): start-up with exporters and no file "
        f"{large.startup.median:.2f}; count-only run {large.count_only.median:.2f}; export's extra over count-only "
        f"{large.export.median - large.count_only.median:.2f} (OTel floor above: {floor:.2f} CPU s); backfill "
        f"reader processes: {workers}"
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
