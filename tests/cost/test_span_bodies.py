"""Span bodies written by backfill's readers reach the receiver as the very bytes of the ReadableSpan path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from cost.support import fixture_projects
from otel_claude.backfill.files import FileRead, FileReads, discover, read_file
from otel_claude.backfill.span_bodies import SpanBodies
from otel_claude.backfill.spans import LlmSpans
from otel_claude.export.otlp_spans import encode_spans
from otel_claude.transcripts.attributes import session_attributes
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.model import LlmCall, Usage
from otel_claude.transcripts.prices import load_table
from otel_claude.transcripts.reader import Cursor

RESOURCE = Resource.create({"service.name": "claude-code", "host.name": "h"})
SCOPE = InstrumentationScope("otel_claude", "1")


def _both_ways(calls: list[LlmCall], bodies: list[object], project: str | None) -> tuple[bytes, bytes]:
    table = load_table()
    spans = LlmSpans(RESOURCE, SCOPE, table.version)
    readable, encoded = [], []
    for call, body in zip(calls, bodies, strict=True):
        session = session_attributes(call.session_id, project, "dev", backfill=True).span
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, table)
        readable.append(spans(call, cost, session))
        encoded.append(spans.encoded(body, session))  # type: ignore[arg-type]
    return encode_spans(readable).SerializeToString(), encode_spans(encoded).SerializeToString()


def test_every_fixture_call_encodes_to_the_same_bytes(tmp_path: Path) -> None:
    bodies = SpanBodies.of(load_table())
    reads = [read_file(path, Cursor(path=path), None, bodies) for path in discover([str(fixture_projects(tmp_path))])]
    calls = [call for read in reads for call in read.calls]
    written = [body for read in reads for body in read.span_bodies]
    assert len(calls) == len(written) > 20 and all(body is not None for body in written)
    readable, encoded = _both_ways(calls, written, "proj")
    assert readable == encoded


@pytest.mark.parametrize("project", ["proj", None])
def test_odd_calls_encode_to_the_same_bytes(project: str | None) -> None:
    """Fields that are set on some calls only, an unknown model (cost unknown), speed and region, large counts."""
    base = LlmCall("s-1", "claude-sonnet-4-5-20250929", Usage(10, 20, 30, 40, 40, 0), 2_000_000_000, 1_000_000_000)
    calls = [
        base,
        dataclasses.replace(base, message_id="msg_1", request_id="req_1", stop_reason="tool_use", prompt_id="p-1"),
        dataclasses.replace(base, model="mystery-model", requested_model="alias", agent_id="a1", is_sidechain=True),
        dataclasses.replace(
            base, usage=Usage(2**40, 1, 0, 7, 3, 4, speed="fast", inference_geo="us"), end_ns=3 * 10**9
        ),
        dataclasses.replace(base, start_ns=5 * 10**9, session_id="s-2", uuid="u", offset=99),  # started after its line
    ]
    bodies = SpanBodies.of(load_table())
    read = FileRead("f", Cursor(path="f"), calls)
    from otel_claude.backfill.span_bodies import span_bodies

    written = span_bodies(read.calls, bodies)
    readable, encoded = _both_ways(calls, written, project)
    assert readable == encoded


def test_a_bettering_delta_gets_no_body_and_bodies_survive_the_trip_from_a_reader_process(tmp_path: Path) -> None:
    from otel_claude.backfill.span_bodies import span_bodies

    delta = LlmCall("s", "m", Usage(1), 1, 1, replaces=Usage(0))
    assert span_bodies([delta], SpanBodies.of(load_table())) == [None]

    projects = fixture_projects(tmp_path)
    jobs = [(path, Cursor(path=path)) for path in discover([str(projects)])]
    bodies = SpanBodies.of(load_table())
    here = list(FileReads(jobs, 0, None, bodies))
    with FileReads(jobs, 2, None, bodies) as reads:
        there = list(reads)
    assert [r.span_bodies for r in there] == [r.span_bodies for r in here] and any(r.span_bodies for r in here)


@pytest.mark.parametrize(
    ("cpus", "bodies", "expected"),
    [(1, True, 0), (1, False, 0), (2, False, 1), (2, True, 2), (3, True, 3), (16, True, 4), (16, False, 4)],
)
def test_default_readers_one_per_cpu_when_they_write_the_spans(
    cpus: int, bodies: bool, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exporting process mostly waits on readers that write span bodies: it needs no CPU kept for it."""
    from otel_claude.backfill import files

    monkeypatch.setattr(files.os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    assert files.auto_workers(bodies) == expected


_FORKED_READERS = """
import sys, threading
from otel_claude.backfill import files
from otel_claude.backfill.span_bodies import SpanBodies
from otel_claude.transcripts.prices import load_table
from otel_claude.transcripts.reader import Cursor

jobs = [(path, Cursor(path=path)) for path in files.discover([sys.argv[1]])]
bodies = SpanBodies.of(load_table())
assert files.start_method() == "fork", files.start_method()
with files.FileReads(jobs, 2, None, bodies) as reads:
    there = list(reads)
here = list(files.FileReads(jobs, 0, None, bodies))
assert there == here and any(read.span_bodies for read in here)
platform, sys.platform = sys.platform, "darwin"
assert files.start_method() == "spawn"  # macOS's frameworks are not fork-safe: Python's own default there
sys.platform = platform
stop = threading.Event()
thread = threading.Thread(target=stop.wait)
thread.start()
assert files.start_method() == "spawn"  # another thread's locks would be copied in whatever state they are in
stop.set()
thread.join()
import grpc  # noqa: E402,F401
assert files.start_method() == "spawn"  # so would gRPC's, whose threads start with its first channel
print("ok")
"""


def test_readers_are_forked_before_grpc_or_a_thread_and_read_what_this_process_reads(tmp_path: Path) -> None:
    """In a process of its own: pytest's has threads and gRPC loaded by other tests, which is when readers spawn."""
    import subprocess
    import sys

    projects = fixture_projects(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_READERS, str(projects)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
