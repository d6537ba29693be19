"""Backfill: the same spans and metrics as live, original timestamps, idempotent, ledger private."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cost.support import fixture_projects, memory_delivery
from otel_claude import semconv as sc
from otel_claude.backfill.command import backfill_main
from otel_claude.backfill.run import run_backfill

FIXTURE_RESPONSES = 24  # unique responses in the fixture transcripts, subagents included
FIXTURE_CALLS = FIXTURE_RESPONSES + 1  # and /compact's summary, which only a cost-state line shows
FIXTURE_SPANS = FIXTURE_CALLS + 1  # and a failed API call (a span, no tokens)


def _token_total(reader: InMemoryMetricReader) -> float:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(
        p.value
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == sc.METRIC_TOKENS
        for p in m.data.data_points
    )


def test_backfill_exports_each_call_once_with_original_times(
    tmp_path: Path,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    projects = fixture_projects(tmp_path)
    state = tmp_path / "state"
    stream = io.StringIO()
    delivery = memory_delivery(span_exporter, meter_provider)
    summary = run_backfill([str(projects)], delivery, str(state), progress_stream=stream)
    spans = span_exporter.get_finished_spans()
    assert summary.calls_exported == FIXTURE_CALLS and len(spans) == FIXTURE_SPANS
    assert summary.calls_from_cost_state == 1 and summary.api_errors_new == summary.api_errors_exported == 1
    assert summary.errors == [] and summary.unknown_models == set()
    assert summary.cost_usd == pytest.approx(
        0.2098892 + 0.1116954 + 0.043568 + 0.087564 + 0.1114712 + 0.16959939999999998 + 0.11073159999999999 + 0.1239094
    )  # Claude Code's own figures: the last cost-state line of each session
    assert all(s.name.startswith("chat") and (s.attributes or {}).get(sc.CC_BACKFILL) is True for s in spans)
    first = min(spans, key=lambda s: s.start_time or 0)
    assert datetime.fromtimestamp((first.start_time or 0) / 1e9, UTC).date().isoformat() == "2026-11-23"
    assert (first.attributes or {}).get(sc.CC_PROJECT) == "project"
    assert "100.0%" in stream.getvalue()
    tokens = _token_total(metric_reader)
    for path in (state / "backfill").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # A second run exports nothing new and records no more tokens.
    span_exporter.clear()
    again = run_backfill([str(projects)], delivery, str(state), progress=False)
    assert again.calls_exported == again.api_errors_new == 0 and span_exporter.get_finished_spans() == ()
    assert again.files_unchanged == again.files
    assert _token_total(metric_reader) == tokens


def test_grown_transcript_exports_only_the_new_calls(
    tmp_path: Path, span_exporter: InMemorySpanExporter, meter_provider: MeterProvider
) -> None:
    projects = fixture_projects(tmp_path)
    state = str(tmp_path / "state")
    delivery = memory_delivery(span_exporter, meter_provider)
    run_backfill([str(projects)], delivery, state, progress=False)
    span_exporter.clear()
    transcript = next(projects.glob("-home-dev-project/c77f9869*.jsonl"))
    line = next(raw for raw in transcript.read_text().splitlines() if '"type":"assistant"' in raw)
    new = json.loads(line)
    new["message"]["id"] = "msg_new"
    new["requestId"] = "req_new"
    with open(transcript, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(new, separators=(",", ":")) + "\n")
    summary = run_backfill([str(projects)], delivery, state, progress=False)
    assert summary.calls_exported == 1
    assert [s.attributes.get(sc.GEN_AI_RESPONSE_ID) for s in span_exporter.get_finished_spans()] == ["msg_new"]


def test_time_window_and_openmetrics_output(
    tmp_path: Path, span_exporter: InMemorySpanExporter, meter_provider: MeterProvider
) -> None:
    projects = fixture_projects(tmp_path)
    state = str(tmp_path / "state")
    delivery = memory_delivery(span_exporter, meter_provider)
    outside = run_backfill([str(projects)], delivery, state, False, since=datetime(2026, 11, 24, tzinfo=UTC))
    assert outside.calls_exported == outside.api_errors_new == 0 and outside.calls_outside_window == FIXTURE_CALLS
    om = tmp_path / "backfill.om"
    inside = run_backfill([str(projects)], delivery, state, False, openmetrics_path=str(om))
    assert inside.calls_exported == FIXTURE_CALLS  # the window left everything for this run
    assert inside.api_errors_exported == 1
    text = om.read_text()
    assert text.startswith("# TYPE otel_claude_tokens counter") and text.endswith("# EOF\n")
    sample = next(
        line
        for line in text.splitlines()
        if line.startswith("otel_claude_tokens_total{") and 'kind="input"' in line and "opus" in line
    )
    labels, value, stamp = sample.rsplit(" ", 2)
    assert 'claude_code_backfill="true"' in labels and 'gen_ai_request_model="claude-opus-5-5"' in labels
    assert int(stamp) == int(datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC).timestamp())
    assert float(value) > 0
    assert stat.S_IMODE(om.stat().st_mode) == 0o600


def test_cli_dry_run_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_CLAUDE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OTEL_CLAUDE_CONFIG_FILE", str(tmp_path / "none.env"))
    projects = fixture_projects(tmp_path)
    assert backfill_main([str(projects), "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["calls_new"] == FIXTURE_CALLS and out["calls_exported"] == 0 and out["unknown_models"] == []
    assert out["delivered"] is False and sum(m["calls"] for m in out["by_model"].values()) == FIXTURE_CALLS
    assert not (tmp_path / "state" / "backfill").exists()  # a dry run records nothing


@pytest.mark.parametrize("own_process", [True, False])
def test_the_collector_is_tuned_only_in_the_programs_own_process(
    own_process: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`otel-claude backfill` freezes what its exporters loaded once they are made, and everything before it exits;
    a caller's process (a test, an embedding program) keeps its collector as it was."""
    from otel_claude import gc_tuning

    monkeypatch.setenv("OTEL_CLAUDE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OTEL_CLAUDE_CONFIG_FILE", str(tmp_path / "none.env"))
    steps: list[str] = []
    monkeypatch.setattr(gc_tuning, "start_up_done", lambda collect=True: steps.append(f"start-up done {collect}"))
    monkeypatch.setattr(gc_tuning, "before_exit", lambda: steps.append("before exit"))
    assert backfill_main([str(fixture_projects(tmp_path)), "--dry-run"], own_process=own_process) == 0
    assert "cost of these calls" in capsys.readouterr().out
    assert steps == (["start-up done False", "before exit"] if own_process else [])


def test_help_lists_every_option_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from otel_claude.backfill.command import build_parser
    from otel_claude.cli.main import main

    actions = [a for a in build_parser()._actions if a.dest != "help"]
    assert {a.dest for a in actions} >= {"paths", "since", "until", "dry_run", "retry_for", "batch_size", "json"}
    for action in actions:
        assert action.help and action.help[0].isupper() and action.help.endswith("."), action.dest
    with pytest.raises(SystemExit) as exited:
        main(["backfill", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "rest" not in text.split()
    for action in actions:
        assert (action.option_strings[0] if action.option_strings else "PATH") in text


def test_a_calls_end_is_set_without_changing_any_other_field() -> None:
    """files._with copies a call field by field (dataclasses.replace is slow when reading): it must name them all."""
    from dataclasses import fields, replace

    from otel_claude.backfill.files import _with
    from otel_claude.transcripts.model import LlmCall, Usage

    values = {f.name: f"v-{f.name}" for f in fields(LlmCall)}
    values.update(usage=Usage(1, 2), replaces=Usage(3), is_sidechain=True, offset=7, end_ns=None)
    values.update(timestamp_ns=10, start_ns=9)
    call = LlmCall(**values)  # type: ignore[arg-type]
    assert _with(call, call.replaces, 42) == replace(call, end_ns=42)
    assert _with(call, None, None) == replace(call, replaces=None, end_ns=None)


def _exported(span_exporter: InMemorySpanExporter) -> list[str]:
    return sorted(span.to_json() for span in span_exporter.get_finished_spans())


def test_reader_processes_export_what_one_process_exports(
    tmp_path: Path, span_exporter: InMemorySpanExporter, meter_provider: MeterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `workers`, files are read by other processes; the summary, spans and ledger are those of a run that
    reads them itself (the size threshold for starting workers is lowered to the fixtures')."""
    from cost.transcript_gen import corpus_lines
    from otel_claude.backfill import run as run_module

    projects = fixture_projects(tmp_path)
    for index in range(3):  # and files big enough to take a few bounded reads each
        path = projects / "-home-dev-bulk" / f"0000000{index}-0000-4000-8000-000000000000.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in corpus_lines(path.stem, 300_000, seed=index)))
    monkeypatch.setattr(run_module, "PARALLEL_MIN_BYTES", 0)
    results = []
    for workers in (0, 2):
        span_exporter.clear()
        state = tmp_path / f"state-{workers}"
        summary = run_backfill(
            [str(projects)], memory_delivery(span_exporter, meter_provider), str(state), False, workers=workers
        )
        ledger = {p.name: p.read_bytes() for p in (state / "backfill").iterdir()}
        results.append(({**summary.to_json(), "seconds": 0}, _exported(span_exporter), ledger))
    assert results[0][0]["calls_exported"] > FIXTURE_CALLS and results[0][0]["calls_from_cost_state"] == 1
    assert results[0] == results[1]


def test_a_failed_reader_process_leaves_its_files_to_this_one(tmp_path: Path) -> None:
    """A file a worker cannot take (here: a cursor that cannot be sent to it) is read here, in order, with the rest."""
    from otel_claude.backfill.files import FileReads, read_file
    from otel_claude.transcripts.reader import Cursor

    projects = fixture_projects(tmp_path)
    paths = sorted(str(p) for p in projects.rglob("*.jsonl"))
    jobs = [(path, Cursor(path=path)) for path in paths]
    jobs[1] = (paths[1], Cursor(path=paths[1], context={"unsendable": lambda: None}))
    with FileReads(jobs, 2) as reads:
        got = [(read.path, read.calls) for read in reads]
    assert got == [(path, read_file(path, Cursor(path=path)).calls) for path in paths]


class _HeldPool:
    """A stand-in for the reader pool whose results wait until the test says: what was given out is what is held."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def submit(self, _read: object, path: str, cursor: object, *_args: object) -> object:
        from concurrent.futures import Future

        from otel_claude.backfill.files import FileRead

        self.given.append(path)
        future: Future[FileRead] = Future()
        future.set_result(FileRead(path, cursor))  # type: ignore[arg-type]
        return future

    def shutdown(self, **_kwargs: object) -> None:
        pass


@pytest.mark.parametrize(
    ("sizes_mib", "ahead", "after_one"),
    [
        ([1] * 40, 24, 25),  # small files: more than one per reader, until 24 MiB are ahead
        ([30] * 6, 2, 3),  # big files: one per reader, however many bytes they hold
        ([0] * 60, 32, 33),  # empty files: the file count caps it (16 per reader)
        ([10, 10, 1, 1, 1, 1, 1, 1, 1], 6, 9),  # 20 MiB in two files, then 1 MiB files up to 24 MiB
    ],
)
def test_readers_get_a_bounded_number_of_files_and_bytes_ahead(
    sizes_mib: list[int], ahead: int, after_one: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files go to the readers ahead of the consumer while fewer than AHEAD_FILES per reader are given out, or while
    what they have yet to read is under AHEAD_BYTES and fewer than AHEAD_MAX_FILES per reader are; each file taken
    frees its place (its bytes counted from its cursor)."""
    from otel_claude.backfill import files
    from otel_claude.transcripts.reader import Cursor

    monkeypatch.setattr(files, "AHEAD_FILES", 1)
    monkeypatch.setattr(files, "AHEAD_MAX_FILES", 16)
    monkeypatch.setattr(files, "AHEAD_BYTES", 24 << 20)
    paths = [f"/t/{index:03d}.jsonl" for index in range(len(sizes_mib))]
    sizes = {path: mib << 20 for path, mib in zip(paths, sizes_mib, strict=True)}
    reads = files.FileReads([(path, Cursor(path=path)) for path in paths], 2, sizes=sizes)
    pool = _HeldPool()
    reads._pool = pool  # type: ignore[assignment]
    reads._submit()
    assert len(pool.given) == ahead
    taken = next(iter(reads))  # one file taken: its place and its bytes are given to the next
    assert taken.path == paths[0] and len(pool.given) == after_one
    # read from its cursor: a file already read to its end takes no bytes of the budget
    done = files.FileReads([(path, Cursor(path=path, offset=64 << 20)) for path in paths[:3]], 2, sizes=sizes)
    done._pool = _HeldPool()  # type: ignore[assignment]
    done._submit()
    assert done._ahead_bytes == 0


class _Requests(InMemorySpanExporter):
    """Keeps each request's size; fails every request from the `fail_from`th on (counted from 1)."""

    def __init__(self, fail_from: int | None = None) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self._fail_from = fail_from

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        if self._fail_from is not None and len(self.sizes) + 1 >= self._fail_from:
            return SpanExportResult.FAILURE
        self.sizes.append(len(spans))
        return super().export(spans)


def _bulk_projects(tmp_path: Path) -> Path:
    from cost.transcript_gen import corpus_lines

    projects = tmp_path / "projects"
    for index in range(3):
        path = projects / "-home-dev-bulk" / f"0000000{index}-0000-4000-8000-000000000000.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in corpus_lines(path.stem, 600_000, seed=index)))
    return projects


def test_spans_go_out_while_the_readers_have_nothing_ready_and_the_run_is_the_same(
    tmp_path: Path, meter_provider: MeterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting on a reader, the exporting process sends the batch's whole requests of spans; the commit sends the
    rest. Spans, summary and ledger are those of a run that sends everything at the commit."""
    from otel_claude.backfill import batches
    from otel_claude.backfill import delivery as delivery_module
    from otel_claude.backfill.files import FileReads

    monkeypatch.setattr(delivery_module, "SPANS_PER_EXPORT", 16)
    monkeypatch.setattr(batches, "SPANS_PER_EXPORT", 16)
    commit = batches.CallExport.commit
    projects = _bulk_projects(tmp_path)
    results = []
    for waiting in (False, True):
        monkeypatch.setattr(FileReads, "ready", lambda self, waiting=waiting: not waiting)
        exporter = _Requests()
        before_commits: list[int] = []  # requests made before each commit began

        def counted(run: Any, exporter: _Requests = exporter, before: list[int] = before_commits) -> bool:
            before.append(len(exporter.sizes))
            return commit(run)

        monkeypatch.setattr(batches.CallExport, "commit", counted)
        state = tmp_path / f"state-{waiting}"
        summary = run_backfill([str(projects)], memory_delivery(exporter, meter_provider), str(state), False)
        ledger = {p.name: p.read_bytes() for p in (state / "backfill").iterdir()}
        results.append(({**summary.to_json(), "seconds": 0}, _exported(exporter), ledger, before_commits))
    (plain, plain_spans, plain_ledger, plain_before), (early, early_spans, early_ledger, early_before) = results
    assert plain["calls_exported"] > 3 * 16 and (plain, plain_spans, plain_ledger) == (early, early_spans, early_ledger)
    assert plain_before == [0] and early_before[0] >= 2, "no request went out while waiting on the readers"


def test_a_failed_send_while_waiting_stops_the_run_and_a_rerun_exports_the_rest_once(
    tmp_path: Path, meter_provider: MeterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_claude.backfill import batches
    from otel_claude.backfill import delivery as delivery_module
    from otel_claude.backfill.files import FileReads

    monkeypatch.setattr(delivery_module, "SPANS_PER_EXPORT", 64)
    monkeypatch.setattr(batches, "SPANS_PER_EXPORT", 64)
    monkeypatch.setattr(FileReads, "ready", lambda self: False)
    projects, state = _bulk_projects(tmp_path), tmp_path / "state"
    failing = _Requests(fail_from=3)  # two requests get through while waiting, then the receiver goes away
    delivery = memory_delivery(failing, meter_provider)
    delivery.retry_for_s, delivery.sleep = 0.01, lambda _seconds: None
    first = run_backfill([str(projects)], delivery, str(state), False)
    assert first.failure is not None and first.calls_exported == 0 and first.calls_remaining == first.calls_new
    assert failing.sizes == [64, 64]
    working = _Requests()
    second = run_backfill([str(projects)], memory_delivery(working, meter_provider), str(state), False)
    assert second.failure is None and second.calls_exported == first.calls_new
    # the 128 spans acknowledged before the failure are not sent again; their metrics are
    assert len(_exported(working)) == first.calls_new - 128
    third = run_backfill([str(projects)], memory_delivery(_Requests(), meter_provider), str(state), False)
    assert third.calls_new == 0 and third.calls_exported == 0
