"""Our totals against ccusage 20.0.24 (offline): tokens per model and day equal, cost equal where both follow
the vendor's rules; where they differ, our figure is the vendor's rule (docs/cost-differences.md)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cost.support import fixture_projects
from cost.transcript_gen import SessionWriter, usage
from otel_claude.backfill.delivery import Delivery
from otel_claude.backfill.run import discover, run_backfill
from otel_claude.backfill.summary import ModelTotals
from otel_claude.transcripts.cost import cost_of_call, day_of
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor, read_all_new

pytestmark = pytest.mark.node  # runs ccusage (npm) under Node.js

Totals = dict[tuple[str, str], dict[str, float]]
KINDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
M = 1_000_000
# Where ccusage does not follow the vendor: no price (Opus/Sonnet/Haiku 5.5, the 4.0 alias, unknown models), or
# its per-field long-context rule (Sonnet 4.5 with a prompt over 200k). Each has its own test below.
DIFFERENT = {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-4-0", "claude-nova-9"}
LONG_CONTEXT_KEY = ("2026-11-20", "claude-sonnet-4-5")  # the generated long-context request, alone on its row


def run_ccusage(binary: str, config_dir: Path) -> Totals:
    environ = {**os.environ, "CLAUDE_CONFIG_DIR": str(config_dir), "HOME": str(config_dir), "NO_COLOR": "1"}
    command = [binary, "claude", "daily", "--offline", "--json", "--breakdown", "-z", "UTC", "--mode", "calculate"]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120, check=True)
    totals: Totals = {}
    for day in json.loads(done.stdout)["daily"]:
        for row in day["modelBreakdowns"]:
            entry = {kind: float(row[kind]) for kind in KINDS}
            entry["cost"] = float(row["cost"])
            entry["missing"] = float(bool(row.get("missingPricing")))
            totals[(day["date"], row["modelName"])] = entry
    return totals


def our_totals(projects: Path) -> Totals:
    """What backfill counts: every transcript, one dedup across files (as ccusage), cost by our table."""
    table = bundled_table()
    dedup = Dedup(200_000)
    totals: Totals = defaultdict(lambda: defaultdict(float))
    latest: dict[tuple[str, ...], Any] = {}
    for path in discover([str(projects)]):
        for call in read_all_new(Cursor(path=path), dedup).calls:
            if call.replaces is not None:  # a better line of a counted response (maybe under another request id)
                for key in [k for k, seen in latest.items() if seen.message_id == call.message_id]:
                    del latest[key]
            latest[call.key] = call
    for call in latest.values():
        model = call.model + ("-fast" if call.usage.speed == "fast" else "")
        entry = totals[(day_of(call.timestamp_ns).isoformat(), model)]
        entry["inputTokens"] += call.usage.input_tokens
        entry["outputTokens"] += call.usage.output_tokens
        entry["cacheCreationTokens"] += call.usage.cache_creation_tokens
        entry["cacheReadTokens"] += call.usage.cache_read_tokens
        entry["cost"] += cost_of_call(call.usage, call.model, call.timestamp_ns, table).usd
    return {k: dict(v) for k, v in totals.items()}


def compare(ours: Totals, theirs: Totals) -> set[str]:
    assert sorted(ours) == sorted(theirs)
    for key, mine in ours.items():
        for kind in KINDS:
            assert mine[kind] == theirs[key][kind], (key, kind)
        base_model = key[1].removesuffix("-fast")
        if base_model not in DIFFERENT and key != LONG_CONTEXT_KEY and not theirs[key]["missing"]:
            assert mine["cost"] == pytest.approx(theirs[key]["cost"], abs=1e-4), key
    return {model for _, model in ours}


def test_fixture_transcripts_match_ccusage(ccusage: str, tmp_path: Path) -> None:
    projects = fixture_projects(tmp_path)
    ours, theirs = our_totals(projects), run_ccusage(ccusage, tmp_path)
    assert compare(ours, theirs) == {"claude-opus-5-5", "claude-sonnet-5-5"}
    # ccusage has no price for the 5.5 models the fixtures use; ours equals Claude Code's own cost-state figures.
    assert all(row["missing"] for row in theirs.values())
    day = "2026-11-23"
    assert ours[(day, "claude-sonnet-5-5")]["cost"] == pytest.approx(0.043568, abs=1e-9)


def _generated(root: Path) -> Path:
    """Several models and days, both cache durations, cache reads, long context, repeated lines, a placeholder
    line later bettered, fast mode, a /btw sidechain replay, a subagent transcript and an unknown model."""
    projects = root / "projects" / "-home-dev-gen"
    t0 = datetime(2026, 11, 20, 23, 59, 0, tzinfo=UTC)  # responses on both sides of midnight
    main = SessionWriter("11111111-aaaa-4bbb-8ccc-000000000001")
    main.prompt("p1", t0)
    plan = [
        ("claude-opus-4-6", usage(1200, 340, 52_000, 900, 4100), 2),
        ("claude-opus-4-6", usage(30, 80, 60_000, 0, 0, speed="fast"), 1),
        ("claude-sonnet-4-6", usage(4000, 1000, 10_000, 2000, 0, breakdown=False), 1),
        ("claude-sonnet-4-5-20250929", usage(50_000, 2000, 120_000, 0, 10_000), 1),  # prompt 180k: standard
        ("claude-haiku-4-5-20251001", usage(700, 90, 0, 1000, 0), 3),
        ("claude-opus-4-1-20250805", usage(10, 20, 30, 40, 50), 1),
        ("claude-3-5-haiku-20241022", usage(5, 5, 5, 5, 0), 1),
        ("claude-opus-5", usage(100, 200, 300, 0, 400, speed="fast"), 1),
        ("claude-fable-5-1", usage(10, 10, 1000, 0, 0), 1),
        ("claude-opus-5-5", usage(2496, 41, 0, 0, 9668), 2),
        ("claude-nova-9", usage(111, 22, 33, 44, 0), 1),
        ("claude-opus-4-0", usage(1, 1, 1, 1, 1), 1),
    ]
    for i, (model, raw, blocks) in enumerate(plan):
        main.response(model, t0 + timedelta(seconds=20 * i), raw, blocks=blocks)
    # a streaming placeholder line, then the final usage for the same response (Claude Code before 2.1.97)
    main.response(
        "claude-haiku-4-5",
        t0 + timedelta(minutes=10),
        usage(0, 0),
        blocks=2,
        block_usages=[usage(1, 2), usage(300, 400, 500, 0, 600)],
    )
    # a /btw sidechain replay of an earlier message under another request id: the same response
    message_id, _ = main.response("claude-opus-4-6", t0 + timedelta(minutes=11), usage(9, 9, 9, 0, 9))
    replay = SessionWriter(main.session_id, sidechain=True)
    replay.response("claude-opus-4-6", t0 + timedelta(minutes=12), usage(9, 9, 9, 0, 9), message_id=message_id)
    main.lines += replay.lines
    main.write(str(projects / f"{main.session_id}.jsonl"))
    sub = SessionWriter(main.session_id, agent_id="a0123456789abcdef", sidechain=True)
    sub.prompt("p1", t0)
    sub.response("claude-haiku-4-5", t0 + timedelta(seconds=30), usage(1962, 31, 0, 0, 4881), blocks=2)
    sub.response("claude-sonnet-4-5", t0 + timedelta(seconds=40), usage(100_000, 10_000, 150_000))  # long context
    sub.write(str(projects / main.session_id / "subagents" / "agent-a0123456789abcdef.jsonl"))
    other = SessionWriter("22222222-aaaa-4bbb-8ccc-000000000002", cwd="/home/dev/other")
    other.prompt("q1", t0 + timedelta(days=2))
    other.response("claude-sonnet-5-5", t0 + timedelta(days=2), usage(10, 10, M, 0, 0))
    other.response("claude-haiku-5-5", t0 + timedelta(days=2, seconds=5), usage(60_000, 1000, 50_000))
    other.write(str(root / "projects" / "-home-dev-other" / f"{other.session_id}.jsonl"))
    return root / "projects"


def test_generated_transcripts_match_ccusage(ccusage: str, tmp_path: Path) -> None:
    projects = _generated(tmp_path)
    ours, theirs = our_totals(projects), run_ccusage(ccusage, tmp_path)
    models = compare(ours, theirs)
    assert {"claude-opus-4-6-fast", "claude-opus-5-fast", "claude-nova-9", "claude-sonnet-4-5"} <= models
    assert {date for date, _ in ours} == {"2026-11-20", "2026-11-21", "2026-11-22"}
    # The bettered placeholder counts with its final usage, the /btw replay not at all.
    assert ours[("2026-11-21", "claude-haiku-4-5")]["outputTokens"] == 400
    assert ours[("2026-11-20", "claude-haiku-4-5")]["outputTokens"] == 31  # the subagent's, counted once
    opus = ours[("2026-11-21", "claude-opus-4-6")]
    assert opus["inputTokens"] == 9  # the +11 min response; its sidechain replay adds nothing


def test_where_ccusage_differs_ours_is_the_vendors_rule(ccusage: str, tmp_path: Path) -> None:
    projects = _generated(tmp_path)
    ours, theirs = our_totals(projects), run_ccusage(ccusage, tmp_path)
    # Long context: a 250k prompt on Sonnet 4.5 is priced whole at $6 / $22.50 / $0.60 (cache read) per MTok.
    sonnet = LONG_CONTEXT_KEY
    vendor = (100_000 * 6 + 10_000 * 22.5 + 150_000 * 0.6) / M
    assert ours[sonnet]["cost"] == pytest.approx(vendor, abs=1e-9)
    assert theirs[sonnet]["cost"] == pytest.approx((100_000 * 3 + 10_000 * 15 + 150_000 * 0.3) / M)
    # Models ccusage has no price for: ccusage says $0 (missing pricing), ours is the published price.
    for key, published in [
        (("2026-11-21", "claude-opus-5-5"), (2496 * 4 + 41 * 20 + 9668 * 8) / M),
        (("2026-11-21", "claude-opus-4-0"), (1 * 15 + 1 * 75 + 1 * 1.5 + 1 * 18.75 + 1 * 30) / M),
        (("2026-11-22", "claude-sonnet-5-5"), (10 * 2 + 10 * 10 + M * 0.1) / M),  # after the 2026-10-07 cut
        (("2026-11-22", "claude-haiku-5-5"), (60_000 * 0.5 + 1000 * 2.5 + 50_000 * 0.05) / M),  # over 100k
    ]:
        assert theirs[key]["missing"] and theirs[key]["cost"] == 0
        assert ours[key]["cost"] == pytest.approx(published, abs=1e-12), key
    # An unknown model: both count its tokens; ours prices nothing and flags it (see test_cost.py).
    unknown = ("2026-11-21", "claude-nova-9")
    assert ours[unknown]["cost"] == 0 and ours[unknown]["inputTokens"] == theirs[unknown]["inputTokens"] == 111


def test_backfill_counts_what_ccusage_counts_and_apart_the_calls_only_cost_state_lines_show(
    ccusage: str, tmp_path: Path
) -> None:
    """Backfill also counts the calls no transcript line shows (/compact's summary, from Claude Code's cost-state
    lines), which ccusage does not: its totals of the calls read from transcript lines are ccusage's tokens, and
    what it counts beyond them is those calls alone."""
    projects = fixture_projects(tmp_path)
    summary = run_backfill([str(projects)], Delivery(), str(tmp_path / "state"), False)
    theirs: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(KINDS))
    for (_, model), row in run_ccusage(ccusage, tmp_path).items():
        theirs[model] = [a + row[kind] for a, kind in zip(theirs[model], KINDS, strict=True)]

    def tokens(totals: dict[str, ModelTotals]) -> dict[str, list[float]]:
        fields = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")  # KINDS' order
        return {model: [float(getattr(t, name)) for name in fields] for model, t in totals.items()}

    read = summary.transcript_totals()
    assert tokens(read) == dict(theirs)
    assert tokens(summary.cost_state_by_model) == {"claude-opus-5-5": [1843, 61, 128, 13028]}
    assert summary.calls_new - summary.calls_from_cost_state == sum(t.calls for t in read.values()) == 24
