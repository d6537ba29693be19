"""The agent's state snapshot at its transcript bound: its size and the time to serialize it, as saved now against
every response saved whole (the snapshot's form before, measured in the same run as the baseline).

The agent rewrites and fsyncs its snapshot at every commit (every half second of a live session). It follows up to
MAX_TRANSCRIPTS transcripts (live/usage.py), each with a dedup of up to DEFAULT_MAX_MESSAGES responses
(transcripts/dedup.py); the dedup saves its newest FULL_ROWS responses whole and the older as digests. This builds
that state at its bound (a heavy user's week: 256 transcripts of 512 responses, through the real Dedup and
AgentState) and serializes it as `live/state.save` does.

Target: the snapshot at most a quarter of the whole-row form's size.

    .venv/bin/python benchmarks/bench_snapshot_size.py            # 256 transcripts of 512 responses
    .venv/bin/python benchmarks/bench_snapshot_size.py --short    # 64 transcripts, for CI
    .venv/bin/python benchmarks/bench_snapshot_size.py --check    # exit 1 when the target is missed
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from otel_claude.live.state import AgentState, TranscriptState
from otel_claude.live.usage import MAX_TRANSCRIPTS
from otel_claude.transcripts import dedup as dedup_module
from otel_claude.transcripts.dedup import DEFAULT_MAX_MESSAGES, Dedup
from otel_claude.transcripts.model import LlmCall, Usage

TARGET_RATIO = 0.25


def state_at_bound(transcripts: int, responses: int) -> AgentState:
    state = AgentState()
    for t in range(transcripts):
        session = f"{t:08d}-0000-4000-8000-000000000000"
        dedup = Dedup()
        for i in range(responses):
            usage = Usage(1234 + i, 567, 89012 + i, 3456, 3456, 0)
            call = LlmCall(
                session,
                "claude-opus-4-6",
                usage,
                1,
                1,
                f"msg_01{t:04d}{i:04d}ABCDEFGHIJKLMNO",
                f"req_01{t:04d}{i:04d}ABCDEFGHIJKLMN",
            )
            dedup.observe(call)
        path = f"/home/dev/.claude/projects/-home-dev-project/{session}.jsonl"
        cursor = {"path": path, "dev": 2049, "ino": 1000 + t, "offset": 12_345_678, "context": {}}
        state.transcripts[path] = TranscriptState(session_id=session, cursor=cursor, dedup=dedup.to_dict())
    return state


def serialized(state: AgentState, rounds: int) -> tuple[int, float]:
    """Bytes and the fastest of `rounds` serializations (seconds), as `live/state.save` makes them."""
    best = float("inf")
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(state.model_dump_json().encode())
        best = min(best, time.perf_counter() - started)
    return size, best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="64 transcripts")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    options = parser.parse_args(argv)
    transcripts = 64 if options.short else MAX_TRANSCRIPTS
    responses = DEFAULT_MAX_MESSAGES
    now_size, now_s = serialized(state_at_bound(transcripts, responses), 5)
    full_rows = dedup_module.FULL_ROWS
    dedup_module.FULL_ROWS = responses  # every response whole: the baseline
    try:
        whole_size, whole_s = serialized(state_at_bound(transcripts, responses), 5)
    finally:
        dedup_module.FULL_ROWS = full_rows
    ratio = now_size / whole_size
    print(f"snapshot of {transcripts} transcripts x {responses} responses (FULL_ROWS={full_rows})")
    print(f"  now:          {now_size / 1e6:7.2f} MB, serialized in {now_s * 1e3:6.1f} ms")
    print(f"  whole rows:   {whole_size / 1e6:7.2f} MB, serialized in {whole_s * 1e3:6.1f} ms")
    met = ratio <= TARGET_RATIO
    print(f"size ratio {ratio:.2f}x, time ratio {now_s / whole_s:.2f}x; target size <= {TARGET_RATIO}x: "
          f"{'met' if met else 'MISSED'}")  # fmt: skip
    return 1 if options.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
