"""The Stop hook's transcript work is proportional to the new lines, not to the transcript's length.

For transcripts of growing size, appends one turn (a prompt, three responses of two lines each, tool results) and
times the incremental read of just that turn, many times. Prints the median time per event for each size and its
ratio to the smallest size (flat = about 1.0), beside a full re-read of the file as the non-incremental baseline.

    .venv/bin/python benchmarks/bench_transcript_incremental.py           # 1 MB, 10 MB, 100 MB
    .venv/bin/python benchmarks/bench_transcript_incremental.py --short   # 1 MB, 20 MB
    .venv/bin/python benchmarks/bench_transcript_incremental.py --check   # exit 1 when the target is missed
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cost"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from transcript_gen import SessionWriter, corpus_lines, turn_lines

from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.reader import Cursor, read_all_new

SESSION = "bench-0000-0000-0000-000000000001"
# Per-event time at the largest transcript over that at the smallest: flat is about 1.0; reading the whole file
# each time would make it grow with the size (20x or 100x).
RATIO_TARGET = 2.0


def build(path: str, size: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for line in corpus_lines(SESSION, size):
            handle.write(line + "\n")


def measure(path: str, events: int) -> tuple[float, float, int, int]:
    """(median seconds per event, seconds for one full read, lines per event, bytes per event)."""
    started = time.perf_counter()
    full = read_all_new(Cursor(path=path), Dedup())
    full_read = time.perf_counter() - started
    cursor, dedup = full.cursor, Dedup()
    del full  # the full read's objects must not make the garbage collector's passes longer
    gc.collect()
    rng = random.Random(1)
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    timings: list[float] = []
    lines = appended = 0
    writer = SessionWriter(SESSION)
    writer._n = 10_000_000  # message ids apart from the corpus's
    for _ in range(events):
        turn_lines(writer, moment, rng, "claude-opus-4-6", 6000)
        lines = len(writer.lines)
        appended = len(writer.text())
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(writer.text())
        writer.lines.clear()
        moment += timedelta(minutes=1)
        started = time.perf_counter()
        result = read_all_new(cursor, dedup)
        timings.append(time.perf_counter() - started)
        assert len(result.calls) == 3, len(result.calls)
        cursor = result.cursor
    return statistics.median(timings), full_read, lines, appended


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="1 MB and 20 MB only (CI)")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the ratio exceeds {RATIO_TARGET}")
    args = parser.parse_args(argv)
    sizes = [1, 20] if args.short else [1, 10, 100]
    events = min(args.events, 100) if args.short else args.events
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for megabytes in sizes:
            path = os.path.join(scratch, f"t{megabytes}.jsonl")
            build(path, megabytes * 1_000_000)
            size = os.path.getsize(path)
            median, full_read, lines, appended = measure(path, events)
            rows.append((megabytes, size, median, full_read, lines, appended))
            os.unlink(path)
    base = rows[0][2]
    print(f"incremental transcript read: {events} events of one turn each ({rows[0][4]} lines, {rows[0][5]} bytes)")
    print(f"{'transcript':>12} {'per event':>12} {'vs smallest':>12} {'full re-read':>14} {'re-read/event':>14}")
    for _megabytes, size, median, full_read, _lines, _bytes in rows:
        print(
            f"{size / 1e6:10.1f}MB {median * 1e6:10.0f}us {median / base:11.2f}x {full_read * 1e3:12.1f}ms "
            f"{full_read / median:13.0f}x"
        )
    ratio = rows[-1][2] / base
    verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
    print(f"RESULT per-event time at {rows[-1][0]} MB / at {rows[0][0]} MB = {ratio:.2f} (flat is ~1.0)")
    print(f"target: ratio <= {RATIO_TARGET}: {verdict}")
    return 1 if args.check and ratio > RATIO_TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
