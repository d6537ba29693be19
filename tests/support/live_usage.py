"""Drives the event processor with the transcript reader on, over fixture sessions or hand-made transcripts."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from otel_claude.cli.replay import _rewrite_paths, to_ns
from otel_claude.export.span_emitter import SpanSink
from otel_claude.live.events import parse_hook_input
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.processor import EventProcessor
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState
from otel_claude.live.usage import TranscriptUsage
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.timestamps import parse_timestamp_ns
from otel_claude.transcripts.usage_metrics import UsageMetrics

RECORDED_PROJECTS_DIR = "/home/dev/.claude/projects"


class Clock:
    """The agent's wall clock, moved by the test: settle reads run when the test says time has passed."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class LiveRun:
    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        settle_s: float = 1.0,
        *,
        spans: SpanSink | None = None,
        settings: ProcessorSettings | None = None,
    ) -> None:
        """`spans`: where spans go instead of the provider's tracer named "test"."""
        self.clock = Clock()
        self.state = AgentState()
        meter = meter_provider.get_meter("test")
        self.usage = TranscriptUsage(self.state, UsageMetrics(meter), bundled_table(), settle_s, self.clock)
        settings = settings or ProcessorSettings(user_name="dev")
        ctx = SpanFactory(spans or tracer_provider.get_tracer("test"), HookMetrics(meter), settings)
        self.processor = EventProcessor(ctx, self.state, self.usage, self.clock)
        self.settle_ns = int(settle_s * 1e9)

    def handle(self, payload: dict[str, Any], received_ns: int) -> None:
        self.clock.now = max(self.clock.now, received_ns)
        self.processor.handle(parse_hook_input(payload), received_ns)

    def settle(self) -> None:
        """Lets the settle time pass and runs the due re-reads, as the agent loop does when it is idle."""
        self.clock.now += self.settle_ns + 1
        self.usage.run_due(self.processor.ctx)


def feed_fixture(
    run: LiveRun,
    session_dir: Path,
    entries: list[dict[str, Any]],
    before: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Feeds the recorded events (transcript paths moved under `session_dir`), then lets the transcripts settle;
    `before(entry)` runs before each event (e.g. to write a file the CLI wrote at that moment)."""
    root = str(session_dir / "transcripts")
    for entry in entries:
        if before is not None:
            before(entry)
        payload = _rewrite_paths(dict(entry["payload"]), RECORDED_PROJECTS_DIR, root)
        run.handle(payload, to_ns(entry["ts"]))
    run.settle()


def feed_capture(run: LiveRun, capture: Path, entries: list[dict[str, Any]], live_dir: Path | None) -> None:
    """Feeds a capture's events. With `live_dir`, its transcripts are written there line by line as the events'
    times pass, as the agent reads them live; without, they are read whole from the capture, as in a replay."""
    if live_dir is None:
        feed_fixture(run, capture, entries)
    else:
        feed_fixture(run, live_dir, entries, ProgressiveTranscripts(capture, live_dir))


def message_line_times(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """(first, last) line timestamp of each message id with usage: what a chat span must cover."""
    times: dict[str, list[int]] = defaultdict(list)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            message = data.get("message") if isinstance(data, dict) else None
            if not isinstance(message, dict) or not isinstance(message.get("usage"), dict) or not message.get("id"):
                continue
            stamp = parse_timestamp_ns(data.get("timestamp"))
            if stamp is not None:
                times[str(message["id"])].append(stamp)
    return {key: (min(v), max(v)) for key, v in times.items()}


class ProgressiveTranscripts:
    """Copies a fixture's transcripts under `target` line by line as the recorded events' times pass, the way
    Claude Code wrote them: before each event, the lines stamped up to its receive time (and the unstamped lines
    that follow them). Use as `feed_fixture(..., before=progressive)` with `target` as the session dir."""

    def __init__(self, fixture_dir: Path, target: Path) -> None:
        self._files: list[tuple[Path, list[tuple[int, bytes]]]] = []
        source = fixture_dir / "transcripts"
        for path in sorted(source.rglob("*")):
            out = target / "transcripts" / path.relative_to(source)
            if path.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix != ".jsonl":
                out.write_bytes(path.read_bytes())  # .meta.json and the like: there from the start
                continue
            out.write_bytes(b"")
            stamped: list[tuple[int, bytes]] = []
            last = 0
            for line in path.read_bytes().splitlines(keepends=True):
                try:
                    data = json.loads(line)
                except ValueError:
                    data = None
                stamp = parse_timestamp_ns(data.get("timestamp")) if isinstance(data, dict) else None
                last = max(last, stamp or 0)
                stamped.append((last, line))
            self._files.append((out, stamped))

    def __call__(self, entry: dict[str, Any]) -> None:
        now = to_ns(entry["ts"])
        for out, lines in self._files:
            due = 0
            while due < len(lines) and lines[due][0] <= now:
                due += 1
            if due:
                with out.open("ab") as handle:
                    handle.writelines(line for _, line in lines[:due])
                del lines[:due]

    def flush(self) -> None:
        for out, lines in self._files:
            with out.open("ab") as handle:
                handle.writelines(line for _, line in lines)
            lines.clear()
