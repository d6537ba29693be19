"""The recent-spans file's compaction (export/recent_spans.py): the newest `keep` spans within half of max_bytes,
the lines an earlier agent left included, rewritten from memory that stays as bounded as the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_claude.export import recent_spans
from otel_claude.export.recent_spans import RecentSpansExporter, read_recent_spans


def _emit(exporter: RecentSpansExporter, names: list[str], size: int = 0) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for name in names:
        tracer.start_span(name, attributes={"x": "y" * size}).end()
    provider.shutdown()


def test_a_compaction_keeps_the_newest_spans_the_earlier_agent_s_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recent-spans.jsonl"
    _emit(RecentSpansExporter(str(path), keep=100), [f"old {i}" for i in range(19)])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"name": "cut off')  # a line still being written when that agent died: not a span
    reads: list[str] = []
    read_lines = recent_spans._read_lines
    monkeypatch.setattr(recent_spans, "_read_lines", lambda p: reads.append(p) or read_lines(p))
    exporter = RecentSpansExporter(str(path), keep=10)
    _emit(exporter, ["new 0", "new 1"])  # 21 lines > 2 * 10: compacted to the newest 10
    assert reads == [str(path)]  # read when the exporter started: a compaction writes from memory
    assert [span.name for span in read_recent_spans(str(path))] == [f"old {i}" for i in range(11, 19)] + [
        "new 0",
        "new 1",
    ]
    reads.clear()
    _emit(exporter, [f"new {i}" for i in range(2, 13)])  # 10 + 11 lines: compacted again
    assert reads == []
    assert [span.name for span in read_recent_spans(str(path))] == [f"new {i}" for i in range(3, 13)]
    assert all(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())


def test_big_spans_keep_the_file_and_the_memory_within_half_of_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "recent-spans.jsonl"
    exporter = RecentSpansExporter(str(path), keep=1000, max_bytes=50_000)
    _emit(exporter, [f"big {i}" for i in range(12)], size=5000)  # past 50,000 bytes at the 10th: compacted
    names = [span.name for span in read_recent_spans(str(path))]
    assert names == [f"big {i}" for i in range(6, 12)]  # 4 newest within 25,000 bytes at the compaction, 2 since
    assert sum(map(len, exporter._tail)) <= 25_000 and len(exporter._tail) == 4
