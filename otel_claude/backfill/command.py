"""`otel-claude backfill [PATH...]`: past transcripts to LLM-call spans and token/cost metrics, once.

Exporters follow the standard variables (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_*; the
otel-claude config file honoured). Only argparse is imported until the command runs, and the OTel SDK and the OTLP
exporters only when something is exported. Exit status: 0 when everything found was exported (or counted, when
nothing is exported), 1 when an export failed for good (the message names the endpoint and what remains) or when
no file could be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_claude.backfill.delivery import Delivery
    from otel_claude.backfill.summary import BackfillSummary
    from otel_claude.config import AgentConfig

DEFAULT_ROOT_TEXT = "~/.claude/projects"
DEFAULT_RETRY_FOR_S = 30.0  # equal to delivery.DEFAULT_RETRY_FOR_S, kept here so --help imports nothing more
DEFAULT_BATCH_CALLS = 2048  # equal to run.DEFAULT_BATCH_CALLS
MAX_WORKERS = 64  # reader processes: each holds a file's calls and its own interpreter (~30 MB)
# The 16 MiB in --workers' help is files.PARALLEL_MIN_BYTES, not imported so that --help loads nothing more.


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero: {text}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from exc
    if not 0 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_WORKERS}: {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `otel-claude backfill`, each with a sentence (the CLI's subparser uses them too)."""
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"Transcript files or directories to read, subagent transcripts included (default: {DEFAULT_ROOT_TEXT}).",
    )
    parser.add_argument(
        "--since", type=_day, metavar="YYYY-MM-DD", help="Export only calls made on or after this UTC date."
    )
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="Export only calls made before this UTC date.")
    parser.add_argument(
        "--state-dir", metavar="DIR", help="Where the ledger of exported calls lives (default: the agent's state dir)."
    )
    parser.add_argument(
        "--prices", metavar="FILE", help="A price file overriding the bundled table (default: OTEL_CLAUDE_PRICES_FILE)."
    )
    parser.add_argument(
        "--openmetrics",
        metavar="FILE",
        help="Also write dated daily token and cost samples to FILE, for `promtool tsdb create-blocks-from`.",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Count and price every call and print the totals by model; export nothing, record nothing.",
    )
    parser.add_argument(
        "--retry-for",
        type=_positive,
        default=DEFAULT_RETRY_FOR_S,
        metavar="SECONDS",
        help="How long to retry an export the receiver did not acknowledge before stopping with exit status 1 "
        f"(default: {DEFAULT_RETRY_FOR_S:g}).",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_CALLS,
        metavar="CALLS",
        help="Calls exported, acknowledged and recorded together; a failed batch is all the next run repeats "
        f"(default: {DEFAULT_BATCH_CALLS}).",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="Processes that read transcripts while this one exports, when there are at least 16 MiB to read; 0 reads "
        "here (default: one less than the CPUs this process may use, at most 4; none if that is one and nothing is "
        "exported).",
    )
    parser.add_argument(
        "--progress", action="store_true", help="Draw a progress bar on stderr even when it is not a terminal."
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="Draw no progress bar (default: drawn when stderr is a terminal)."
    )
    parser.add_argument("--json", action="store_true", help="Print the summary as JSON instead of text.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-claude backfill",
        description="Export past Claude Code transcripts as LLM-call spans and token/cost metrics, each call once.",
    )
    add_arguments(parser)
    return parser


def _exports(cfg: AgentConfig, args: argparse.Namespace) -> tuple[bool, bool]:
    """Whether spans, and whether metrics, leave the process."""
    traces = cfg.traces_exporter == "otlp" and not args.dry_run
    metrics = "otlp" in cfg.metrics_exporters and not args.dry_run
    return traces, metrics


def _worker_count(asked: int | None, exports: bool, span_bodies: bool) -> int:
    """`--workers`, else the default: with nothing to export this process only waits for a single worker's results,
    so one would add its start-up and gain nothing."""
    if asked is not None:
        return asked
    from otel_claude.backfill.files import auto_workers

    workers = auto_workers(span_bodies)
    return workers if exports or workers > 1 else 0


def _delivery(cfg: AgentConfig, args: argparse.Namespace) -> Delivery:
    from otel_claude.backfill.delivery import Delivery, otlp_delivery

    traces, metrics = _exports(cfg, args)
    if not traces and not metrics:
        return Delivery(endpoint="")  # touches no endpoint, imports no exporter
    from otel_claude.export.resource import build_resource

    return otlp_delivery(
        build_resource(cfg), cfg.otlp_endpoint, traces, metrics, args.retry_for, cfg.metric_cardinality_limit
    )


def _print(summary: BackfillSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        _print_text(summary)
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    if summary.failure:
        print(
            f"error: export to {summary.endpoint} failed: {summary.failure}. {summary.calls_remaining} of "
            f"{summary.calls_new} calls{_and_errors(summary)} remain unexported and unrecorded; run "
            "`otel-claude backfill` again once the receiver is up, and it exports exactly those.",
            file=sys.stderr,
        )


def _and_errors(summary: BackfillSummary) -> str:
    left = summary.api_errors_remaining
    return f" and {left} failed API call{'s' if left != 1 else ''}" if left else ""


def _print_text(summary: BackfillSummary) -> None:
    rate = summary.bytes_read / 1e6 / summary.seconds if summary.seconds > 0 else 0.0
    print(f"files: {summary.files} ({summary.files_unchanged} unchanged since the last run)")
    print(f"read: {summary.bytes_read / 1e6:.1f} MB in {summary.seconds:.1f} s ({rate:.1f} MB/s)")
    if summary.delivered:
        print(
            f"LLM calls exported to {summary.endpoint}: {summary.calls_exported} of {summary.calls_new} new "
            f"(already exported: {summary.calls_already_exported}; remaining: {summary.calls_remaining})"
        )
    else:
        print(f"LLM calls found: {summary.calls_new} (nothing exported, nothing recorded)")
    if summary.calls_outside_window:
        print(f"outside --since/--until: {summary.calls_outside_window} (left for a later run)")
    print(f"{'model':<32} {'calls':>8} {'input':>12} {'output':>12} {'cache write':>13} {'cache read':>14} {'USD':>12}")
    for model, totals in sorted(summary.by_model.items()):
        usd = f"{totals.cost_usd:.4f}" if totals.cost_known else "unknown"
        print(
            f"{model:<32} {totals.calls:>8} {totals.input_tokens:>12} {totals.output_tokens:>12} "
            f"{totals.cache_creation_tokens:>13} {totals.cache_read_tokens:>14} {usd:>12}"
        )
    print(f"cost of these calls: {summary.cost_usd:.4f} USD")
    if summary.calls_from_cost_state:
        count = summary.calls_from_cost_state
        unseen_usd = sum(totals.cost_usd for totals in summary.cost_state_by_model.values())
        print(
            f"of these, {count} call{'s' if count != 1 else ''} ({unseen_usd:.4f} USD) that no transcript line shows "
            "(e.g. /compact's summary), counted from Claude Code's cost-state lines as the agent counts them; "
            "ccusage does not count them"
        )
    if summary.reported_cost_usd:
        print(f"Claude Code's own cost for the runs read (its cost-state lines): {summary.reported_cost_usd:.4f} USD")
    if summary.api_errors_new:
        exported = f" (exported: {summary.api_errors_exported})" if summary.delivered else ""
        print(f"failed API calls (spans, no tokens): {summary.api_errors_new}{exported}")
    if summary.unknown_models:
        print(f"models without a price (tokens counted, cost unknown): {', '.join(sorted(summary.unknown_models))}")


def backfill_main(
    argv: Sequence[str] | None = None, delivery: Delivery | None = None, *, own_process: bool = False
) -> int:
    """Runs the command; `delivery` replaces the exporters built from the environment (tests inject one).
    `own_process`: this process is the command's alone (the `otel-claude` program), so its cyclic collector is
    tuned for the run (gc_tuning.py) and what the exporters loaded is left out of the exit's collection."""
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    from otel_claude import config as agent_config
    from otel_claude import gc_tuning
    from otel_claude.backfill.run import run_backfill
    from otel_claude.transcripts.prices import load_table

    agent_config.apply_standard_variables()
    cfg = agent_config.load()
    table = load_table(path=args.prices) if args.prices else load_table()
    injected = delivery if delivery is not None and not args.dry_run else None
    made: list[Delivery] = []

    def make_delivery() -> Delivery:  # called by the run once its readers started: imports overlap reading
        made.append(injected or _delivery(cfg, args))
        if own_process:
            gc_tuning.start_up_done(collect=False)  # the SDK and gRPC live as long as the run
        return made[-1]

    exports = injected.exports if injected is not None else any(_exports(cfg, args))
    spans = injected is None and _exports(cfg, args)[0]  # to OTLP: the readers write the spans' bodies
    try:
        # A run that exports nothing records nothing: its ledger is a scratch one.
        with tempfile.TemporaryDirectory(prefix="otel-claude-dry-run-") as scratch:
            summary = run_backfill(
                args.paths,
                make_delivery,
                (args.state_dir or cfg.state_dir) if exports else scratch,
                progress=args.progress or (not args.no_progress and sys.stderr.isatty()),
                since=args.since,
                until=args.until,
                prices=table,
                project_mode=cfg.project_label,
                user_name=cfg.user_name,
                openmetrics_path=args.openmetrics,
                batch_calls=args.batch_size,
                workers=_worker_count(args.workers, exports, spans),
                span_bodies=spans,
            )
    finally:
        for made_delivery in made:
            made_delivery.shutdown()
    _print(summary, args.json)
    if own_process:
        gc_tuning.before_exit()
    if summary.failure:
        return 1
    return 1 if summary.errors and not summary.calls_new else 0
