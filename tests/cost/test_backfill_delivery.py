"""Backfill records a call as exported only once the receiver acknowledged it, and a rerun completes the history.

Real parts: the SDK's OTLP gRPC exporters against an in-process gRPC receiver (tests/support), killed halfway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import pytest
from support.flaky_otlp import DyingOtlpReceiver
from support.otlp_receiver import OtlpReceiver, free_port

from cost.support import REPO, fixture_projects
from otel_claude import semconv as sc
from otel_claude.backfill.command import backfill_main

FIXTURE_CALLS = 25  # 24 responses and /compact's summary, which only a cost-state line shows
FIXTURE_SPANS = FIXTURE_CALLS + 1  # and a failed API call


@pytest.fixture
def otlp_env(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OTEL_CLAUDE_CONFIG_FILE", str(isolated_home / "none.env"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # seconds: the SDK exporter's own retry window
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    return isolated_home


def _ledger(state: Path, name: str) -> list[int]:
    path = state / "backfill" / name
    hashes = array("Q")
    if path.exists():
        hashes.frombytes(path.read_bytes())
    return list(hashes)


def _tokens(receiver: OtlpReceiver) -> float:
    """The cumulative token count in the receiver's last metric export (the process's total it acknowledged)."""
    if not receiver.metric_requests:
        return 0.0
    last = receiver.metric_requests[-1]
    return sum(
        point.as_int or point.as_double
        for resource_metrics in last.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        if metric.name == sc.METRIC_TOKENS
        for point in metric.sum.data_points
    )


def _token_usage(receiver: OtlpReceiver) -> tuple[int, float]:
    """The GenAI token histogram's count and sum in the receiver's last metric export (two points per call)."""
    if not receiver.metric_requests:
        return 0, 0.0
    points = [
        point
        for resource_metrics in receiver.metric_requests[-1].resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        if metric.name == sc.METRIC_GEN_AI_TOKEN_USAGE
        for point in metric.histogram.data_points
    ]
    assert all(sum(point.bucket_counts) == point.count for point in points)
    return sum(point.count for point in points), sum(point.sum for point in points)


def _run(projects: Path, state: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    argv = [str(projects), "--state-dir", str(state), "--no-progress", "--json", "--retry-for", "1", *extra]
    return backfill_main(argv)


def test_unreachable_endpoint_records_nothing_and_says_what_remains(
    otlp_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    projects, state = fixture_projects(tmp_path), tmp_path / "state"
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    assert _run(projects, state, endpoint, monkeypatch) == 1
    assert time.monotonic() - started < 30  # bounded: --retry-for 1 plus one exporter timeout
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["calls_exported"] == 0 and summary["calls_remaining"] == FIXTURE_CALLS
    assert summary["api_errors_exported"] == 0 and summary["api_errors_remaining"] == 1
    remain = f"{FIXTURE_CALLS} of {FIXTURE_CALLS} calls and 1 failed API call remain"
    assert endpoint in captured.err and remain in captured.err
    assert _ledger(state, "exported.u64") == [] and _ledger(state, "spans-only.u64") == []
    files = json.loads((state / "backfill" / "files.json").read_text())["files"]
    assert files == {}  # no cursor moved: the next run reads every file again


@pytest.mark.parametrize(
    ("configured", "retry_for", "expected"),
    [(None, 2.0, 2.0), (None, 30.0, 10.0), ("1.5", 2.0, 1.5), ("20", 5.0, 5.0), (None, 0.2, 1.0)],
)
def test_an_export_attempt_ends_within_the_retry_budget(
    monkeypatch: pytest.MonkeyPatch, configured: str | None, retry_for: float, expected: float
) -> None:
    """The SDK's OTLP exporters retry an export on their own until their timeout (10 s by default) before the run's
    retry loop sees a failure, so `--retry-for 2` against a dead endpoint took 6.8 s: their timeout is capped at the
    run's budget (never under a second), and a shorter one configured stays."""
    from opentelemetry.exporter.otlp.proto.grpc import metric_exporter
    from opentelemetry.sdk.resources import Resource

    from otel_claude.backfill.delivery import otlp_delivery

    made: list[metric_exporter.OTLPMetricExporter] = []

    class Recorded(metric_exporter.OTLPMetricExporter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(metric_exporter, "OTLPMetricExporter", Recorded)
    for name in (
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    if configured is not None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", configured)
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    delivery = otlp_delivery(Resource.create({}), endpoint, True, True, retry_for)
    try:
        assert [delivery.span_exporter._timeout, made[-1]._timeout] == [expected, expected]  # type: ignore[union-attr]
    finally:
        delivery.shutdown()


@pytest.mark.parametrize("workers", ["0", "2"])
def test_receiver_killed_halfway_then_a_rerun_completes_the_history_exactly_once(
    workers: str,
    otlp_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With reader processes too (`--workers 2`, started whatever the size here): they only read, so what is recorded
    and what a rerun exports are the same."""
    from otel_claude.backfill import run as run_module

    monkeypatch.setattr(run_module, "PARALLEL_MIN_BYTES", 0)
    projects, state = fixture_projects(tmp_path), tmp_path / "state"
    dying = DyingOtlpReceiver(accept=2).start()
    try:
        assert _run(projects, state, dying.endpoint, monkeypatch, "--batch-size", "4", "--workers", workers) == 1
    finally:
        dying.stop()
    first = json.loads(capsys.readouterr().out)
    first_spans = [span.span_id for span in dying.spans()]
    assert 0 < len(first_spans) < FIXTURE_SPANS and first["calls_remaining"] > 0
    assert first["calls_exported"] + first["calls_remaining"] == FIXTURE_CALLS
    assert first["api_errors_exported"] + first["api_errors_remaining"] == 1
    recorded = _ledger(state, "exported.u64")
    assert len(recorded) == len(set(recorded)) == first["calls_exported"] + first["api_errors_exported"]

    receiver = OtlpReceiver(port=dying.port).start()  # the Collector is back
    try:
        assert _run(projects, state, receiver.endpoint, monkeypatch, "--workers", workers) == 0
    finally:
        receiver.stop()
    second = json.loads(capsys.readouterr().out)
    assert second["calls_exported"] == first["calls_remaining"] and second["calls_remaining"] == 0
    assert second["api_errors_exported"] == first["api_errors_remaining"] and second["api_errors_remaining"] == 0
    second_spans = [span.span_id for span in receiver.spans()]
    # Every call's span exactly once over both runs, and the metrics both processes had acknowledged add up.
    assert len(first_spans) + len(second_spans) == len(set(first_spans) | set(second_spans)) == FIXTURE_SPANS
    all_tokens = sum(  # the first run priced every call, exported or not
        t["input_tokens"] + t["output_tokens"] + t["cache_creation_tokens"] + t["cache_read_tokens"]
        for t in first["by_model"].values()
    )
    assert _tokens(dying) + _tokens(receiver) == all_tokens
    # The token histogram, aggregated in the process: both runs' points add up to every call's, once.
    (first_count, first_sum), (second_count, second_sum) = _token_usage(dying), _token_usage(receiver)
    assert first_count + second_count == 2 * FIXTURE_CALLS and first_sum + second_sum == all_tokens
    assert len(set(_ledger(state, "exported.u64"))) == FIXTURE_SPANS and _ledger(state, "spans-only.u64") == []

    # A third run finds nothing left, and needs no receiver to say so.
    assert _run(projects, state, f"http://127.0.0.1:{free_port()}", monkeypatch) == 0
    third = json.loads(capsys.readouterr().out)
    assert third["calls_new"] == third["api_errors_new"] == 0 and third["files_unchanged"] == third["files"]


def test_exporters_none_touch_no_endpoint_import_no_exporter_and_print_totals(otlp_env: Path, tmp_path: Path) -> None:
    projects, state = fixture_projects(tmp_path), tmp_path / "state"
    receiver = OtlpReceiver().start()
    code = (
        "import sys; from otel_claude.cli.main import main; code = main(sys.argv[1:]); "
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(('opentelemetry.exporter', 'grpc', "
        "'opentelemetry.sdk', 'google.protobuf')))); sys.exit(code)"
    )
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, "backfill", str(projects), "--state-dir", str(state)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        receiver.stop()
    assert done.returncode == 0, done.stderr
    assert receiver.trace_requests == [] and receiver.metric_requests == []
    assert "LOADED []" in done.stdout
    assert f"LLM calls found: {FIXTURE_CALLS} (nothing exported, nothing recorded)" in done.stdout
    assert "of these, 1 call (0.0122 USD) that no transcript line shows (e.g. /compact's summary)" in done.stdout
    assert "failed API calls (spans, no tokens): 1\n" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("claude-opus-5-5 "))
    assert row.split()[1].isdigit() and int(row.split()[1]) > 0
    assert not (state / "backfill").exists()


def test_backfilled_metrics_keep_the_agents_cardinality_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT bounds backfill's series as it bounds the agent's: the same metrics, cut
    at the same label sets (counters at the limit, histograms at a quarter of it), the rest in the overflow series."""
    from opentelemetry.sdk.resources import Resource

    from otel_claude.backfill.delivery import METER_NAME, otlp_delivery

    receiver = OtlpReceiver().start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    try:
        delivery = otlp_delivery(Resource.create({}), receiver.endpoint, False, True, 5, cardinality_limit=8)
        assert delivery.meter_provider is not None and delivery.histograms is not None
        meter = delivery.histograms.meter(delivery.meter_provider.get_meter(METER_NAME))
        counter = meter.create_counter("c")
        histogram = meter.create_histogram("h", explicit_bucket_boundaries_advisory=[1.0, 10.0])
        for project in range(20):
            counter.add(1, {"project": f"p{project}"})
            histogram.record(5, {"project": f"p{project}"})
        assert delivery.export_metrics()
        series: dict[str, list[dict[str, object]]] = {}
        for _resource, name, attributes in receiver.data_points_by_resource():
            series.setdefault(name, []).append(attributes)
        overflow = {sc.OTEL_METRIC_OVERFLOW: True}
        assert len(series["c"]) == 8 + 1 and overflow in series["c"]
        assert len(series["h"]) == 2 + 1 and overflow in series["h"]
        delivery.shutdown()
    finally:
        receiver.stop()
