"""Token and cost instruments: what a call used and cost, by model, and Claude Code's own cost beside ours.

Labels stay bounded: model, token kind, whether the cost is known, plus the caller's project and user labels.
Session ids never become labels (they are dropped here if a caller passes them). When the dedup replaced a line
already counted (a later line of the same response with larger usage), only the difference is added, so the
totals end up those of the kept line, as ccusage counts them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opentelemetry.metrics import Counter, Meter

from otel_claude import semconv as sc
from otel_claude.redaction.names import bounded_name
from otel_claude.transcripts.attributes import model_labels
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.model import CostState, LlmCall, Usage

_log = logging.getLogger(__name__)

Labels = Mapping[str, str]
_UNBOUNDED = frozenset({sc.SESSION_ID, sc.GEN_AI_CONVERSATION_ID, sc.CC_PROMPT_ID, sc.GEN_AI_RESPONSE_ID, sc.CC_CWD})


_KINDS = (sc.TOKEN_KIND_INPUT, sc.TOKEN_KIND_OUTPUT, sc.TOKEN_KIND_CACHE_READ, sc.TOKEN_KIND_CACHE_CREATION)


def _bounded(labels: Labels) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in _UNBOUNDED}


_MAX_LABEL_SETS = 1024


Add = Callable[[int | float], None]


def _bound(counter: Counter, labels: Mapping[str, str]) -> Add:
    """`counter.add` for one label set: bound once where the counter sums its increments (export/summed_counters.py),
    so a call's six increments skip making and hashing their series' keys."""
    bind = getattr(counter, "bind", None)
    if bind is not None:
        bound: Add = bind(labels)
        return bound
    return functools.partial(counter.add, attributes=labels)


@dataclass(slots=True)
class _Adds:
    """A label set's counter increments: calls and cost by model, tokens in _KINDS order."""

    call: Add
    cost: Add
    tokens: tuple[Add, ...]


@dataclass(slots=True)
class _LabelSets:
    """The label sets one call's points carry: counters (`model`, and by token kind), the histogram's two."""

    model: Mapping[str, str]
    kinds: Mapping[str, Mapping[str, str]]
    input: Mapping[str, str]
    output: Mapping[str, str]
    adds: _Adds = field(init=False)  # set by UsageMetrics, which owns the counters

    @classmethod
    def of(cls, labels: Labels, model: str, requested_model: str | None, known: bool) -> _LabelSets:
        base = _bounded(labels)
        of_model = model_labels(base, bounded_name(model), known)
        kinds = {kind: {**of_model, sc.CC_TOKEN_KIND: kind} for kind in _KINDS}
        histogram = {
            **base,
            sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_CHAT,
            sc.GEN_AI_PROVIDER_NAME: sc.GEN_AI_PROVIDER_ANTHROPIC,
            sc.GEN_AI_REQUEST_MODEL: bounded_name(requested_model or model),
            sc.GEN_AI_RESPONSE_MODEL: bounded_name(model),
        }
        return cls(
            of_model,
            kinds,
            {**histogram, sc.GEN_AI_TOKEN_TYPE: sc.GEN_AI_TOKEN_TYPE_INPUT},
            {**histogram, sc.GEN_AI_TOKEN_TYPE: sc.GEN_AI_TOKEN_TYPE_OUTPUT},
        )


class UsageMetrics:
    """Counters for tokens, cost and calls, the GenAI token histogram, and the reported-cost counter.

    The agent and backfill both hand it a meter whose counters sum their increments until a flush
    (export/summed_counters.py); the histogram gets every call's value, since a distribution cannot be summed."""

    def __init__(self, meter: Meter) -> None:
        self._label_cache: dict[tuple[object, ...], _LabelSets] = {}
        self._tokens = meter.create_counter(
            sc.METRIC_TOKENS, sc.UNIT_TOKEN, "Tokens used by Claude Code's API calls, by model and kind"
        )
        self._cost = meter.create_counter(
            sc.METRIC_COST, sc.UNIT_USD, "Cost of Claude Code's API calls at list prices, by model"
        )
        self._calls = meter.create_counter(sc.METRIC_LLM_CALLS, "{call}", "API calls (responses) by model")
        self._token_usage = meter.create_histogram(
            sc.METRIC_GEN_AI_TOKEN_USAGE,
            sc.UNIT_TOKEN,
            "Tokens per API call (GenAI convention: input includes cache reads and writes)",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_USAGE_BUCKETS),
        )
        self._reported = meter.create_counter(
            sc.METRIC_REPORTED_COST, sc.UNIT_USD, "Claude Code's own cost estimate (transcript cost-state), by model"
        )

    def record(
        self,
        call: LlmCall,
        cost: CostResult,
        labels: Labels,
        previous_cost: CostResult | None = None,
    ) -> None:
        """Counts one call; for a call that replaces a counted line (`call.replaces`), only what it adds."""
        sets = self._label_sets(labels, call.model, call.requested_model, cost.known)
        adds, usage, old = sets.adds, call.usage, call.replaces
        if old is None:
            adds.call(1)
            self._histogram(usage, sets)
            added_usd = cost.usd
            added = (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_creation_tokens)
        else:
            added = (
                usage.input_tokens - old.input_tokens,
                usage.output_tokens - old.output_tokens,
                usage.cache_read_tokens - old.cache_read_tokens,
                usage.cache_creation_tokens - old.cache_creation_tokens,
            )
            added_usd = cost.usd - (previous_cost.usd if previous_cost is not None else 0.0)
        for add, count, kind in zip(adds.tokens, added, _KINDS, strict=True):
            if count > 0:
                add(count)
            elif count < 0:
                _log.debug("a replacing line of %s has fewer %s tokens (%d); not subtracted", call.model, kind, count)
        # Adding zero for an unknown model still creates its series, so a dashboard can list unpriced models.
        adds.cost(max(added_usd, 0.0))

    def _label_sets(self, labels: Labels, model: str, requested_model: str | None, known: bool) -> _LabelSets:
        """The label sets of a call's points, made once per session labels, model and known cost (a handful), with
        their counter increments bound."""
        key = (tuple(labels.items()), model, requested_model, known)
        sets = self._label_cache.get(key)
        if sets is None:
            if len(self._label_cache) >= _MAX_LABEL_SETS:
                self._label_cache.clear()
            sets = _LabelSets.of(labels, model, requested_model, known)
            sets.adds = _Adds(
                _bound(self._calls, sets.model),
                _bound(self._cost, sets.model),
                tuple(_bound(self._tokens, sets.kinds[kind]) for kind in _KINDS),
            )
            self._label_cache[key] = sets
        return sets

    def _histogram(self, usage: Usage, sets: _LabelSets) -> None:
        # Billable input per the convention: uncached input plus cache reads and writes.
        self._token_usage.record(usage.prompt_tokens, sets.input)
        self._token_usage.record(usage.output_tokens, sets.output)

    def record_reported(self, state: CostState, labels: Labels) -> None:
        """Adds what Claude Code's own running cost grew by since its previous cost-state line, per model."""
        base = _bounded(labels)
        for model, added in state.delta_usd_by_model.items():
            if added > 0:
                self._reported.add(added, {**base, sc.GEN_AI_REQUEST_MODEL: bounded_name(model)})
