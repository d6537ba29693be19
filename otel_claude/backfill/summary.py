"""What a backfill run did: files read, calls exported or left, and its totals by model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otel_claude.transcripts.model import Usage


@dataclass
class ModelTotals:
    """Calls, tokens and cost of one model among the calls a run handled (ccusage's columns)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True

    def add(self, usage: Usage, usd: float, known: bool) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_creation_tokens += usage.cache_creation_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cost_usd += usd
        self.cost_known = self.cost_known and known


_COUNTS = ("calls", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "cost_usd")


def _rounded(by_model: dict[str, ModelTotals]) -> dict[str, dict[str, Any]]:
    return {model: {**vars(t), "cost_usd": round(t.cost_usd, 6)} for model, t in sorted(by_model.items())}


@dataclass
class BackfillSummary:
    files: int = 0
    files_unchanged: int = 0
    bytes_read: int = 0
    calls_new: int = 0  # not exported by an earlier run, inside the window: what this run had to export
    calls_exported: int = 0  # acknowledged by every receiver and recorded in the ledger
    calls_remaining: int = 0  # new calls not acknowledged: the next run exports them
    calls_already_exported: int = 0
    calls_outside_window: int = 0
    cost_usd: float = 0.0  # of the new calls
    by_model: dict[str, ModelTotals] = field(default_factory=dict)
    # Of the new calls, those no transcript line shows, counted from Claude Code's cost-state lines (backfill/unseen.py;
    # ccusage does not count them): already in the figures above, and by model here.
    calls_from_cost_state: int = 0
    cost_state_by_model: dict[str, ModelTotals] = field(default_factory=dict)
    # Claude Code's own cost figure for the runs whose cost-state lines this run read (not in a windowed run).
    reported_cost_usd: float = 0.0
    # Failed requests (no tokens, no cost): spans only, counted apart from the calls.
    api_errors_new: int = 0
    api_errors_exported: int = 0
    api_errors_remaining: int = 0
    unknown_models: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    failure: str | None = None  # why the run stopped before exporting everything
    endpoint: str = ""
    delivered: bool = False  # False: a dry run, or every exporter `none`: nothing left the process
    seconds: float = 0.0
    openmetrics_samples: int = 0

    def count(self, model: str, usage: Usage, usd: float, known: bool, from_cost_state: bool = False) -> None:
        self.calls_new += 1
        self.cost_usd += usd
        totals = self.by_model.get(model)
        if totals is None:
            totals = self.by_model[model] = ModelTotals()
        totals.add(usage, usd, known)
        if not known:
            self.unknown_models.add(model)
        if from_cost_state:
            self.calls_from_cost_state += 1
            self.cost_state_by_model.setdefault(model, ModelTotals()).add(usage, usd, known)

    def transcript_totals(self) -> dict[str, ModelTotals]:
        """By model, the calls read from transcript lines alone: what ccusage counts."""
        read: dict[str, ModelTotals] = {}
        for model, totals in self.by_model.items():
            unseen = self.cost_state_by_model.get(model)
            if unseen is None:
                read[model] = totals
                continue
            left = {name: getattr(totals, name) - getattr(unseen, name) for name in _COUNTS}
            read[model] = ModelTotals(**left, cost_known=totals.cost_known)
        return {model: totals for model, totals in read.items() if totals.calls}

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_unchanged": self.files_unchanged,
            "bytes_read": self.bytes_read,
            "calls_new": self.calls_new,
            "calls_exported": self.calls_exported,
            "calls_remaining": self.calls_remaining,
            "calls_already_exported": self.calls_already_exported,
            "calls_outside_window": self.calls_outside_window,
            "cost_usd": round(self.cost_usd, 6),
            "by_model": _rounded(self.by_model),
            "calls_from_cost_state": self.calls_from_cost_state,
            "cost_state_by_model": _rounded(self.cost_state_by_model),
            "reported_cost_usd": round(self.reported_cost_usd, 6),
            "api_errors_new": self.api_errors_new,
            "api_errors_exported": self.api_errors_exported,
            "api_errors_remaining": self.api_errors_remaining,
            "unknown_models": sorted(self.unknown_models),
            "delivered": self.delivered,
            "failure": self.failure,
            "endpoint": self.endpoint,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "openmetrics_samples": self.openmetrics_samples,
        }
