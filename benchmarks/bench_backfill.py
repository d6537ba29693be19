"""Backfill throughput (MB/s) and peak memory on a generated corpus of Claude Code transcripts.

Generates sessions (a main transcript and a subagent transcript each) in a ~/.claude/projects layout, then runs
`run_backfill` in a child process with an SDK pipeline whose exporters only count, and reports MB/s and the
child's peak RSS. Baselines measured in the same run: the raw line-reading speed of Python on the same files,
and the peak RSS of a child that only imports otel-claude. A quarter-size corpus shows memory stays flat.

    .venv/bin/python benchmarks/bench_backfill.py           # 200 MB corpus (and 50 MB)
    .venv/bin/python benchmarks/bench_backfill.py --short   # 20 MB corpus (and 5 MB)
    .venv/bin/python benchmarks/bench_backfill.py --check   # exit 1 when a target is missed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cost"))
sys.path.insert(0, os.path.join(HERE, ".."))

SESSION_BYTES = 4_000_000
# Targets, each a ratio between the two corpus sizes of one run (4x apart):
# linear time: the MB/s at the large corpus is at least this share of the MB/s at the small one;
RATE_RATIO_TARGET = 0.6
# flat memory: the RSS above the import baseline at the large corpus is at most this multiple of the small one's,
# plus MEMORY_SLACK_KB for the allocator's noise (memory that grew with the corpus would be about 4x).
MEMORY_RATIO_TARGET = 2.0
MEMORY_SLACK_KB = 16 * 1024

CHILD = r"""
import json, resource, sys, time
from collections.abc import Sequence
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider, ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from otel_claude.export.ids import DeterministicIdGenerator
mode, root, state = sys.argv[1], sys.argv[2], sys.argv[3]
class Counting(SpanExporter):
    spans = 0
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        Counting.spans += len(spans)
        return SpanExportResult.SUCCESS
result = {}
if mode == "backfill":
    from otel_claude.backfill.run import run_backfill
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(BatchSpanProcessor(Counting()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    started = time.perf_counter()
    summary = run_backfill([root], tracer_provider, meter_provider, state, progress=False)
    tracer_provider.shutdown()
    result = {"seconds": time.perf_counter() - started, "bytes": summary.bytes_read, "calls": summary.calls_exported,
              "spans": Counting.spans}
else:
    import otel_claude.backfill.run  # noqa: F401  the baseline: what importing the package costs
result["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(result))
"""


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


def raw_read_rate(root: str) -> float:
    started = time.perf_counter()
    total = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                for line in handle:
                    total += len(line)
    return total / (time.perf_counter() - started) / 1e6


def child(mode: str, root: str, state: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.path.join(HERE, "..")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, root, state], env=env, capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a 20 MB corpus (CI)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    big = 20_000_000 if args.short else 200_000_000
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        baseline = child("import", scratch, scratch)
        for total in (big // 4, big):
            root = os.path.join(scratch, f"projects-{total}")
            size = generate(root, total)
            raw = raw_read_rate(root)
            result = child("backfill", root, os.path.join(scratch, f"state-{total}"))
            rows.append((size, raw, result))
    print(
        f"backfill benchmark (child process; baseline RSS after importing otel_claude: "
        f"{baseline['max_rss_kb'] / 1024:.0f} MB)"
    )
    print(f"{'corpus':>9} {'calls':>8} {'seconds':>8} {'MB/s':>7} {'raw read MB/s':>14} {'vs raw':>7} {'peak RSS':>9}")
    for size, raw, result in rows:
        rate = result["bytes"] / result["seconds"] / 1e6
        print(
            f"{size / 1e6:7.0f}MB {result['calls']:8.0f} {result['seconds']:8.2f} {rate:7.1f} {raw:14.0f} "
            f"{rate / raw:6.3f}x {result['max_rss_kb'] / 1024:7.0f}MB"
        )
        assert result["spans"] == result["calls"], "spans were dropped"
    small, large = rows[0][2], rows[1][2]
    extra_small = small["max_rss_kb"] - baseline["max_rss_kb"]
    extra_large = large["max_rss_kb"] - baseline["max_rss_kb"]
    rate = large["bytes"] / large["seconds"] / 1e6
    print(
        f"RESULT {rows[1][0] / 1e6:.0f} MB at {rate:.1f} MB/s (1 GB in {1000 / rate / 60:.1f} min); peak RSS "
        f"{large['max_rss_kb'] / 1024:.0f} MB, above the import baseline: {extra_large / 1024:.0f} MB at 4x the corpus "
        f"vs {extra_small / 1024:.0f} MB"
    )
    small_rate = small["bytes"] / small["seconds"] / 1e6
    rate_ok = rate >= RATE_RATIO_TARGET * small_rate
    memory_ok = extra_large <= MEMORY_RATIO_TARGET * max(extra_small, 0) + MEMORY_SLACK_KB
    print(
        f"targets: MB/s at 4x the corpus >= {RATE_RATIO_TARGET} x the small corpus's ({rate / small_rate:.2f}x): "
        f"{'ok' if rate_ok else 'MISSED'}; extra RSS <= {MEMORY_RATIO_TARGET} x the small corpus's + "
        f"{MEMORY_SLACK_KB // 1024} MB: {'ok' if memory_ok else 'MISSED'}"
    )
    return 1 if args.check and not (rate_ok and memory_ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
