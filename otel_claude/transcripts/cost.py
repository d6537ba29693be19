"""The cost of one API response by the vendor's published rules.

- Each kind of token has its price: uncached input, output, 5-minute and 1-hour cache writes, cache reads.
- Long context: where a model has a prompt-length tier, a request whose prompt (input + cache reads + cache
  writes) exceeds the threshold is priced at the higher rates as a whole, output included. (ccusage instead
  charges only the tokens of each field beyond 200k at the higher rate; see docs/cost-differences.md.)
- Fast mode (`usage.speed == "fast"`) multiplies every rate; a fast request on a model without a published
  fast price is estimated at standard rates and flagged unknown.
- US-only inference (`usage.inference_geo == "us"`) multiplies by the model's published factor.
- A model with no price is never priced at zero silently: known=False, usd=0, and the caller counts its tokens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime

from otel_claude.transcripts.model import SPEED_FAST, Usage
from otel_claude.transcripts.prices import ModelPrice, PriceTable, Rates, find_price

TIER_STANDARD = "standard"
TIER_LONG_CONTEXT = "long_context"
TIER_UNKNOWN_MODEL = "unknown_model"
TIER_FAST_UNPRICED = "fast_unpriced"
_PER_MILLION = 1_000_000.0


@dataclass(frozen=True, slots=True)
class CostResult:
    usd: float
    known: bool
    tier: str  # standard | long_context | unknown_model | fast_unpriced
    multiplier: float = 1.0  # fast mode and inference geography together


UNKNOWN = CostResult(0.0, False, TIER_UNKNOWN_MODEL)


def day_of(timestamp_ns: int) -> date:
    return datetime.fromtimestamp(timestamp_ns / 1e9, tz=UTC).date()


def _sum(usage: Usage, rates: Rates) -> float:
    return (
        usage.input_tokens * rates.input
        + usage.output_tokens * rates.output
        + usage.cache_creation_5m_tokens * rates.cache_write_5m
        + usage.cache_creation_1h_tokens * rates.cache_write_1h
        + usage.cache_read_tokens * rates.cache_read
    ) / _PER_MILLION


def cost_of(usage: Usage, model: str, table: PriceTable, on: date | None = None) -> CostResult:
    """USD for one response of `model` with `usage`, at the prices in force on day `on` (default: latest)."""
    return _priced(usage, find_price(table, model, on))


def _priced(usage: Usage, price: ModelPrice | None) -> CostResult:
    if price is None:
        return UNKNOWN
    rates, tier = price.rates, TIER_STANDARD
    if price.long_context is not None and usage.prompt_tokens > price.long_context_threshold:
        rates, tier = price.long_context, TIER_LONG_CONTEXT
    multiplier, known = 1.0, True
    if usage.speed == SPEED_FAST:
        if price.fast_multiplier is None:
            known, tier = False, TIER_FAST_UNPRICED
        else:
            multiplier *= price.fast_multiplier
    if usage.inference_geo:
        multiplier *= price.inference_geo.get(usage.inference_geo, 1.0)
    return CostResult(_sum(usage, rates) * multiplier, known, tier, multiplier)


_NS_PER_DAY = 86_400 * 10**9
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=4096)  # a model's price on a day: a handful of models, one entry per day used
def _price_on(table: PriceTable, model: str, day: int) -> ModelPrice | None:
    return find_price(table, model, date.fromordinal(_UNIX_EPOCH_ORDINAL + day))


def cost_of_call(usage: Usage, model: str, timestamp_ns: int, table: PriceTable) -> CostResult:
    """`cost_of` at the prices in force on the call's (UTC) day. Backfill and the agent price every call: the
    price of a model on a day is looked up once (a table is not changed once made; tables compare by identity)."""
    return _priced(usage, _price_on(table, model, timestamp_ns // _NS_PER_DAY))
