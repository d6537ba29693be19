"""Cost of one response by the vendor's rules; checked against Claude Code's own cost-state figures."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from cost.support import FIXTURES
from otel_claude.backfill.run import discover
from otel_claude.transcripts.cost import (
    TIER_FAST_UNPRICED,
    TIER_LONG_CONTEXT,
    TIER_STANDARD,
    TIER_UNKNOWN_MODEL,
    cost_of,
    cost_of_call,
)
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.model import Usage
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor, read_all_new

M = 1_000_000
TABLE = bundled_table()


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (Usage(input_tokens=M), 5.0),
        (Usage(output_tokens=M), 25.0),
        (Usage(cache_read_tokens=M), 0.5),
        (Usage(cache_creation_tokens=M, cache_creation_5m_tokens=M), 6.25),
        (Usage(cache_creation_tokens=M, cache_creation_1h_tokens=M), 10.0),
        (
            Usage(1000, 2000, 3000, 4000 + 5000, 4000, 5000),
            (1000 * 5 + 2000 * 25 + 3000 * 0.5 + 4000 * 6.25 + 5000 * 10) / M,
        ),
    ],
)
def test_each_kind_has_its_price(usage: Usage, expected: float) -> None:
    result = cost_of(usage, "claude-opus-4-6", TABLE)
    assert result.known and result.tier == TIER_STANDARD
    assert result.usd == pytest.approx(expected, abs=1e-12)


def test_long_context_prices_the_whole_request_when_the_prompt_exceeds_200k() -> None:
    # 100k uncached + 150k cache read = 250k prompt: every token at the long-context rates, output included.
    usage = Usage(input_tokens=100_000, output_tokens=10_000, cache_read_tokens=150_000)
    result = cost_of(usage, "claude-sonnet-4-5-20250929", TABLE)
    assert result.tier == TIER_LONG_CONTEXT
    assert result.usd == pytest.approx(100_000 * 6 / M + 10_000 * 22.5 / M + 150_000 * 0.6 / M)
    # ccusage's per-field rule would charge standard rates here (no field over 200k): 0.495 USD.
    assert result.usd == pytest.approx(0.915) and abs(result.usd - 0.495) > 0.4


def test_long_context_threshold_is_exclusive_and_model_specific() -> None:
    at = Usage(input_tokens=200_000)
    assert cost_of(at, "claude-sonnet-4-5", TABLE).tier == TIER_STANDARD
    assert cost_of(Usage(input_tokens=200_001), "claude-sonnet-4-5", TABLE).tier == TIER_LONG_CONTEXT
    assert cost_of(Usage(input_tokens=900_000), "claude-sonnet-4-6", TABLE).tier == TIER_STANDARD  # no tier on 4.6


def test_haiku_5_5_prompt_tier_at_100k() -> None:
    small = cost_of(Usage(input_tokens=100_000, output_tokens=1000), "claude-haiku-5-5", TABLE)
    large = cost_of(Usage(input_tokens=60_000, cache_read_tokens=50_000, output_tokens=1000), "claude-haiku-5-5", TABLE)
    assert small.tier == TIER_STANDARD and small.usd == pytest.approx(100_000 * 0.1 / M + 1000 * 0.5 / M)
    assert large.tier == TIER_LONG_CONTEXT
    assert large.usd == pytest.approx(60_000 * 0.5 / M + 50_000 * 0.05 / M + 1000 * 2.5 / M)


def test_fast_mode_multiplies_every_rate() -> None:
    usage = Usage(input_tokens=M, output_tokens=M, speed="fast")
    assert cost_of(usage, "claude-opus-4-6", TABLE).usd == pytest.approx(6 * 30)
    assert cost_of(usage, "claude-opus-5-5", TABLE).usd == pytest.approx(2 * 24)


def test_fast_mode_without_a_published_price_is_flagged() -> None:
    result = cost_of(Usage(input_tokens=M, speed="fast"), "claude-haiku-4-5", TABLE)
    assert not result.known and result.tier == TIER_FAST_UNPRICED and result.usd == pytest.approx(1.0)


def test_us_inference_premium() -> None:
    result = cost_of(Usage(input_tokens=M, inference_geo="us"), "claude-opus-5-5", TABLE)
    assert result.usd == pytest.approx(4.4) and result.multiplier == pytest.approx(1.1)


def test_unknown_model_is_unknown_not_free() -> None:
    result = cost_of(Usage(input_tokens=M), "claude-nova-9", TABLE)
    assert (result.known, result.tier, result.usd) == (False, TIER_UNKNOWN_MODEL, 0.0)


def test_prices_in_force_on_the_call_day() -> None:
    usage = Usage(cache_read_tokens=M)
    assert cost_of(usage, "claude-sonnet-5-5", TABLE, date(2026, 10, 6)).usd == pytest.approx(0.2)
    assert cost_of(usage, "claude-sonnet-5-5", TABLE, date(2026, 10, 7)).usd == pytest.approx(0.1)


@pytest.mark.parametrize("offset_ns", [-(10**9), -1, 0, 1, 10**9])
@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-sonnet-5-5-20260101", "no-such-model"])
def test_a_calls_price_is_the_one_in_force_on_its_utc_day_at_the_days_edges(offset_ns: int, model: str) -> None:
    """cost_of_call finds a model's price on a day once (cached by whole UTC days since 1970): at the nanoseconds
    around midnight and around a price change it prices as cost_of on the call's datetime day."""
    usage = Usage(input_tokens=3, cache_read_tokens=M)
    for midnight in (
        datetime(2026, 10, 7, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(1969, 12, 31, tzinfo=UTC),
    ):
        stamp = int(midnight.timestamp()) * 10**9 + offset_ns
        day = (midnight if offset_ns >= 0 else midnight - timedelta(days=1)).date()
        assert cost_of_call(usage, model, stamp, TABLE) == cost_of(usage, model, TABLE, day)


def test_fixture_cost_equals_claude_codes_own_cost_state() -> None:
    """Claude Code 2.1.330 writes its running cost per model: ours must agree wherever its tokens equal ours."""
    ours: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    reported: dict[str, dict[str, float]] = {}
    reported_tokens: dict[str, dict[str, int]] = {}
    dedups: dict[str, Dedup] = defaultdict(Dedup)
    for path in discover([str(FIXTURES / s / "transcripts") for s in ("main", "extras", "interactive")]):
        result = read_all_new(Cursor(path=path), dedups[path.split("/subagents/")[0].removesuffix(".jsonl")])
        for call in result.calls:
            ours[call.session_id][call.model] += cost_of_call(call.usage, call.model, call.timestamp_ns, TABLE).usd
            ours[call.session_id][call.model + ":in"] += call.usage.input_tokens
        if result.cost_states:
            first = result.cost_states[0]  # the first cost-state follows the transcript's last response
            reported[first.session_id] = {m: u.cost_usd for m, u in first.models.items()}
            reported_tokens[first.session_id] = {m: u.input_tokens for m, u in first.models.items()}
    compared = 0
    for session, models in reported.items():
        for model, usd in models.items():
            if reported_tokens[session][model] != ours[session][model + ":in"]:
                continue  # auxiliary requests (compaction) that never reach the transcript
            assert ours[session][model] == pytest.approx(usd, abs=1e-9), (session, model)
            compared += 1
    assert compared >= 7  # opus-5-5 and sonnet-5-5 sessions, subagents included
