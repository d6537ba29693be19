"""The bundled price table and the user file that overrides it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from otel_claude.handoff import env
from otel_claude.transcripts.prices import bundled_table, find_price, load_table, normalize_model, parse_table

# Every Claude model in the public price lists, under the names Claude Code and the cloud providers use.
KNOWN = [
    ("claude-fable-5-1", 10, 0.25),
    ("claude-mythos-5", 10, 1),
    ("claude-opus-5-5", 4, 0.2),
    ("claude-opus-5", 5, 0.5),
    ("claude-opus-4-8", 5, 0.5),
    ("claude-opus-4-7", 5, 0.5),
    ("claude-opus-4-6", 5, 0.5),
    ("claude-opus-4-5-20251101", 5, 0.5),
    ("claude-opus-4-1-20250805", 15, 1.5),
    ("claude-opus-4-20250514", 15, 1.5),
    ("claude-opus-4-0", 15, 1.5),
    ("claude-3-opus-20240229", 15, 1.5),
    ("claude-sonnet-5", 2, 0.2),
    ("claude-sonnet-4-6", 3, 0.3),
    ("claude-sonnet-4-5-20250929", 3, 0.3),
    ("claude-sonnet-4-20250514", 3, 0.3),
    ("claude-3-7-sonnet-20250219", 3, 0.3),
    ("claude-3-5-sonnet-20241022", 3, 0.3),
    ("claude-haiku-5-5", 0.1, 0.01),
    ("claude-haiku-4-5-20251001", 1, 0.1),
    ("claude-3-5-haiku-20241022", 0.8, 0.08),
    ("claude-3-haiku-20240307", 0.25, 0.03),
]


@pytest.mark.parametrize(("model", "input_rate", "read_rate"), KNOWN)
def test_bundled_prices(model: str, input_rate: float, read_rate: float) -> None:
    price = find_price(bundled_table(), model, date(2026, 11, 1))
    assert price is not None
    assert price.rates.input == input_rate and price.rates.cache_read == pytest.approx(read_rate)
    # Haiku 3 is the published exception to the 1.25x rule: $0.30 for 5-minute writes.
    five_minutes = 0.3 if model.startswith("claude-3-haiku") else 1.25 * input_rate
    assert price.rates.cache_write_5m == pytest.approx(five_minutes)
    assert price.rates.cache_write_1h == pytest.approx(2 * input_rate)
    assert price.source and price.checked


def test_every_entry_names_its_source_and_date() -> None:
    data = json.loads((Path(__file__).parents[2] / "otel_claude" / "data" / "prices.json").read_text())
    assert data["version"]
    for entry in data["models"]:
        assert entry["source"].strip() and date.fromisoformat(entry["checked"])


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),
        ("Claude-Opus-4-6[1m]", "claude-opus-4-6"),
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5"),
    ],
)
def test_provider_spellings_normalize(spelling: str, canonical: str) -> None:
    assert normalize_model(spelling) == canonical
    assert find_price(bundled_table(), spelling) is find_price(bundled_table(), canonical)


def test_dated_and_latest_names_fall_back_to_the_undated_id() -> None:
    table = bundled_table()
    assert find_price(table, "claude-opus-4-6-20991231") is find_price(table, "claude-opus-4-6")
    assert find_price(table, "claude-3-7-sonnet-latest") is not None
    assert find_price(table, "claude-nova-9") is None


def test_price_periods_apply_by_date() -> None:
    table = bundled_table()
    before = find_price(table, "claude-sonnet-5-5", date(2026, 10, 6))
    after = find_price(table, "claude-sonnet-5-5", date(2026, 10, 7))
    assert before is not None and after is not None
    assert (before.rates.cache_read, after.rates.cache_read) == (0.2, 0.1)


def test_user_file_overrides_and_extends(tmp_path: Path) -> None:
    user = tmp_path / "prices.json"
    user.write_text(
        json.dumps(
            {
                "schema": 1,
                "version": "mine",
                "models": [
                    {"ids": ["claude-opus-4-6"], "input": 1, "output": 2, "source": "our contract"},
                    {"ids": ["claude-nova-9"], "input": 7, "output": 70, "cache_read": 0.7},
                ],
            }
        )
    )
    table = load_table({env.OTEL_CLAUDE_PRICES_FILE: str(user)})
    opus = find_price(table, "claude-opus-4-6")
    nova = find_price(table, "claude-nova-9")
    assert opus is not None and (opus.rates.input, opus.rates.cache_write_1h, opus.source) == (1, 2, "our contract")
    assert nova is not None and nova.rates.cache_write_5m == 8.75
    assert find_price(table, "claude-haiku-4-5") is not None  # the rest of the bundled table stays
    assert table.version == f"{bundled_table().version}+mine"


def test_bad_user_file_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    user = tmp_path / "prices.json"
    user.write_text(json.dumps({"schema": 1, "models": [{"ids": ["x"], "input": -1, "output": 1}]}))
    table = load_table({env.OTEL_CLAUDE_PRICES_FILE: str(user)})
    assert table is bundled_table()
    assert "input must be a non-negative number" in caplog.text


def test_schema_is_checked() -> None:
    with pytest.raises(ValueError, match="schema"):
        parse_table({"schema": 2, "models": []}, "x")
