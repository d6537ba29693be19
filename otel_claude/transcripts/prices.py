"""The price table: dollars per million tokens by model, from the bundled data/prices.json and a user file.

The bundled table is versioned and every entry carries its source and the date it was checked. A user file of the
same shape (path in OTEL_CLAUDE_PRICES_FILE) replaces the bundled entries of the model ids it names and adds new
ones, so a price change or a new model needs no release. Lookups accept the names Claude Code and the cloud
providers use: dated and undated ids, `-latest`, a `[1m]` suffix, and Bedrock/Vertex spellings.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from otel_claude.handoff import env, paths

_log = logging.getLogger(__name__)

_DATE_SUFFIX = re.compile(r"-\d{8}$")
_PROVIDER_PREFIX = re.compile(r"^(?:(?:us|eu|apac|global|jp|au)\.)?(?:anthropic[./])")
_BEDROCK_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")


@dataclass(frozen=True)
class Rates:
    """USD per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


@dataclass(frozen=True)
class ModelPrice:
    ids: tuple[str, ...]
    rates: Rates
    long_context: Rates | None = None
    long_context_threshold: int = 0
    fast_multiplier: float | None = None
    inference_geo: Mapping[str, float] = field(default_factory=dict)
    effective_from: date | None = None
    source: str = ""
    checked: str = ""


class PriceTable:
    """Prices by normalized model id, each a list of price periods sorted by start date."""

    def __init__(self, entries: Sequence[ModelPrice], version: str = "") -> None:
        self.version = version
        self._by_id: dict[str, list[ModelPrice]] = {}
        for entry in entries:
            for model_id in entry.ids:
                self._by_id.setdefault(normalize_model(model_id), []).append(entry)
        for periods in self._by_id.values():
            periods.sort(key=lambda p: p.effective_from or date.min)

    def models(self) -> list[str]:
        return sorted(self._by_id)

    def lookup(self, model: str, on: date | None = None) -> ModelPrice | None:
        """The price of `model` on day `on` (default: the latest period); None for a model we have no price for."""
        periods = self._by_id.get(normalize_model(model))
        if not periods:
            return None
        if on is None:
            return periods[-1]
        chosen = None
        for period in periods:
            if period.effective_from is None or period.effective_from <= on:
                chosen = period
        return chosen or periods[0]

    def merged_with(self, override: PriceTable) -> PriceTable:
        """This table with every model id that `override` prices replaced by the override's periods."""
        merged = PriceTable([], version=f"{self.version}+{override.version}" if override.version else self.version)
        merged._by_id = {**self._by_id, **override._by_id}
        return merged


@functools.lru_cache(maxsize=1024)  # called for every priced call with a handful of distinct names
def normalize_model(model: str) -> str:
    """`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `claude-sonnet-4-5@20250929`, `Claude-Sonnet-4-5[1m]` and
    `claude-sonnet-4-5-latest` all name `claude-sonnet-4-5-20250929` or `claude-sonnet-4-5`."""
    name = model.strip().lower()
    name = re.sub(r"\[[^\]]*\]$", "", name)
    name = _PROVIDER_PREFIX.sub("", name)
    name = _BEDROCK_SUFFIX.sub("", name)
    return name.replace("@", "-")


@functools.lru_cache(maxsize=1024)  # a handful of model names, looked up once per call: no regexes per call
def _candidates(model: str) -> tuple[str, ...]:
    name = normalize_model(model)
    out = [name]
    for suffix in (_DATE_SUFFIX, re.compile(r"-latest$")):
        stripped = suffix.sub("", name)
        if stripped != name:
            out.append(stripped)
    return tuple(out)


def find_price(table: PriceTable, model: str, on: date | None = None) -> ModelPrice | None:
    """Looks `model` up by its exact id first, then without a date or `-latest` suffix."""
    for candidate in _candidates(model):
        price = table.lookup(candidate, on)
        if price is not None:
            return price
    return None


def _rates(raw: Mapping[str, Any], where: str) -> Rates:
    def number(key: str) -> float:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{where}: {key} must be a non-negative number, not {value!r}")
        return float(value)

    base_input = number("input")

    # The vendor's standard cache multipliers stand in for a write or read price a user file leaves out.
    def optional(key: str, factor: float) -> float:
        return number(key) if key in raw else base_input * factor

    return Rates(
        input=base_input,
        output=number("output"),
        cache_write_5m=optional("cache_write_5m", 1.25),
        cache_write_1h=optional("cache_write_1h", 2.0),
        cache_read=optional("cache_read", 0.1),
    )


def parse_table(data: Mapping[str, Any], origin: str) -> PriceTable:
    """Validates a price document (the bundled one or a user file); raises ValueError naming the bad entry."""
    if data.get("schema") != 1:
        raise ValueError(f"{origin}: unsupported schema {data.get('schema')!r} (expected 1)")
    entries: list[ModelPrice] = []
    for index, raw in enumerate(data.get("models") or ()):
        where = f"{origin} models[{index}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: not an object")
        ids = raw.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValueError(f"{where}: ids must be a non-empty list of model ids")
        long_raw = raw.get("long_context")
        long_rates, threshold = None, 0
        if isinstance(long_raw, Mapping):
            long_rates = _rates(long_raw, f"{where}.long_context")
            threshold = int(long_raw.get("threshold_tokens") or 200_000)
        fast = raw.get("fast_multiplier")
        geo = raw.get("inference_geo")
        effective = raw.get("effective_from")
        entries.append(
            ModelPrice(
                ids=tuple(ids),
                rates=_rates(raw, where),
                long_context=long_rates,
                long_context_threshold=threshold,
                fast_multiplier=float(fast) if isinstance(fast, int | float) and not isinstance(fast, bool) else None,
                inference_geo={str(k): float(v) for k, v in geo.items()} if isinstance(geo, Mapping) else {},
                effective_from=date.fromisoformat(effective) if isinstance(effective, str) else None,
                source=str(raw.get("source") or origin),
                checked=str(raw.get("checked") or ""),
            )
        )
    return PriceTable(entries, version=str(data.get("version") or ""))


@lru_cache(maxsize=1)
def bundled_table() -> PriceTable:
    text = resources.files("otel_claude").joinpath("data/prices.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text), "otel_claude/data/prices.json")


def load_table(environ: Mapping[str, str] | None = None, path: str | None = None) -> PriceTable:
    """The bundled table, overridden by the user file if one is set; a bad user file is logged and ignored."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(env.OTEL_CLAUDE_PRICES_FILE) or None  # env: OTEL_CLAUDE_PRICES_FILE
    table = bundled_table()
    if not path:
        return table
    try:
        # A FIFO or a link there must not hang the agent's start: a regular file of ours only, bounded.
        override = parse_table(json.loads(paths.read_regular(os.path.expanduser(path), 16 << 20)), path)
    except (OSError, ValueError) as exc:
        _log.warning("price file %s ignored: %s", path, exc)
        return table
    return table.merged_with(override)
