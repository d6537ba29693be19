"""`otel-claude backfill [PATH...]`: past transcripts to LLM-call spans and token/cost metrics, once.

The CLI registers `backfill_main`; it may pass the providers it builds from the environment, otherwise this module
builds an OTLP pipeline of its own (standard OTEL_* variables, the otel-claude config file honoured).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from otel_claude import config as agent_config
from otel_claude.backfill.run import DEFAULT_ROOT, BackfillSummary, run_backfill
from otel_claude.export.ids import DeterministicIdGenerator
from otel_claude.transcripts.prices import load_table


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-claude backfill",
        description="Export past Claude Code transcripts as LLM-call spans and token/cost metrics (idempotent).",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"transcript files or directories ({DEFAULT_ROOT})")
    parser.add_argument("--since", type=_day, help="only calls on or after this UTC date (YYYY-MM-DD)")
    parser.add_argument("--until", type=_day, help="only calls before this UTC date (YYYY-MM-DD)")
    parser.add_argument("--state-dir", help="where the ledger of exported calls lives (default: the agent's)")
    parser.add_argument("--prices", help="a price file overriding the bundled table (default: OTEL_CLAUDE_PRICES_FILE)")
    parser.add_argument("--openmetrics", metavar="FILE", help="also write dated daily samples for promtool")
    parser.add_argument("--dry-run", action="store_true", help="count and price only: export nothing, record nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (default: on when stderr is a tty)")
    parser.add_argument("--progress", action="store_true", help="a progress bar on stderr even when it is not a tty")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def _standalone_providers(cfg: agent_config.AgentConfig, export: bool) -> tuple[TracerProvider, MeterProvider]:
    from otel_claude.export.providers import build_resource

    resource = build_resource(cfg)
    tracer_provider = TracerProvider(resource=resource, id_generator=DeterministicIdGenerator())
    if not export:
        return tracer_provider, MeterProvider(resource=resource)
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), max_queue_size=8192))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=60_000)
    return tracer_provider, MeterProvider(resource=resource, metric_readers=[reader])


def _print(summary: BackfillSummary, as_json: bool) -> None:
    data = {
        "files": summary.files,
        "files_unchanged": summary.files_unchanged,
        "bytes_read": summary.bytes_read,
        "calls_exported": summary.calls_exported,
        "calls_already_exported": summary.calls_already_exported,
        "calls_outside_window": summary.calls_outside_window,
        "cost_usd": round(summary.cost_usd, 6),
        "unknown_models": sorted(summary.unknown_models),
        "errors": summary.errors,
        "seconds": round(summary.seconds, 3),
        "openmetrics_samples": summary.openmetrics_samples,
    }
    if as_json:
        print(json.dumps(data, indent=2))
        return
    rate = summary.bytes_read / 1e6 / summary.seconds if summary.seconds > 0 else 0.0
    print(f"files: {summary.files} ({summary.files_unchanged} unchanged since the last run)")
    print(f"read: {summary.bytes_read / 1e6:.1f} MB in {summary.seconds:.1f} s ({rate:.1f} MB/s)")
    print(f"LLM calls exported: {summary.calls_exported} (already exported: {summary.calls_already_exported})")
    print(f"cost of the exported calls: {summary.cost_usd:.4f} USD")
    if summary.unknown_models:
        print(f"models without a price (tokens counted, cost unknown): {', '.join(sorted(summary.unknown_models))}")
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)


def backfill_main(
    argv: Sequence[str] | None = None,
    providers: tuple[TracerProvider, MeterProvider] | None = None,
) -> int:
    args = build_parser().parse_args(argv)
    agent_config.apply_standard_variables()
    cfg = agent_config.load()
    table = load_table(path=args.prices) if args.prices else load_table()
    if providers is None or args.dry_run:
        providers = _standalone_providers(cfg, export=not args.dry_run)
    tracer_provider, meter_provider = providers
    with tempfile.TemporaryDirectory(prefix="otel-claude-dry-run-") as scratch:
        summary = run_backfill(
            args.paths,
            tracer_provider,
            meter_provider,
            scratch if args.dry_run else (args.state_dir or cfg.state_dir),
            progress=args.progress or (not args.no_progress and sys.stderr.isatty()),
            since=args.since,
            until=args.until,
            prices=table,
            project_mode=cfg.project_label,
            user_name=cfg.user_name,
            openmetrics_path=args.openmetrics,
        )
    tracer_provider.shutdown()
    meter_provider.shutdown()
    _print(summary, args.json)
    return 1 if summary.errors and not summary.calls_exported else 0
