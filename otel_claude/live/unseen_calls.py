"""LLM calls Claude Code made and counted but did not write to the transcript, such as `/compact`'s summary.

Claude Code appends a cost-state line (its running token and cost totals per model) at the end of each run. The
tokens it grew by since the previous cost-state line, minus the tokens of the calls read from the session's
transcripts (main and subagents) in between, are calls no transcript line shows; they are counted as one call
per model, placed in the session's last compaction when there was one (the summarising call is the known case).
So our totals equal Claude Code's own wherever both price the same model the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from otel_claude import semconv as sc
from otel_claude.transcripts.model import CostState, LlmCall, ModelUsage, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_KINDS = 5  # input, output, cache read, cache write 5m, cache write 1h
# The span attribute that tells such a call from one read from a transcript line.
SOURCE: Mapping[str, AttributeValue] = MappingProxyType({sc.CC_LLM_SOURCE: sc.LLM_SOURCE_COST_STATE})


class TokenCounts(Protocol):
    """Per model, [input, output, cache read, cache write 5m, cache write 1h]: at the last cost-state line, and read
    from the session's calls since. The live agent keeps them in the main transcript's TranscriptState (its
    snapshot), backfill in a plain object per session (backfill/unseen.py); both count with the functions below."""

    cost_state_tokens: dict[str, list[int]]
    seen_tokens: dict[str, list[int]]


def _vector(usage: Usage) -> list[int]:
    return [
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_creation_5m_tokens,
        usage.cache_creation_1h_tokens,
    ]


def _state_vector(usage: ModelUsage) -> list[int]:
    five, hour = usage.cache_creation_5m_tokens, usage.cache_creation_1h_tokens
    if five + hour != usage.cache_creation_tokens:
        five, hour = usage.cache_creation_tokens, 0  # no breakdown: priced as 5-minute writes, as usage_from_json
    return [usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, five, hour]


def note_call(main: TokenCounts, call: LlmCall) -> None:
    """Counts a call read from one of the session's transcripts (for a superseding line, what it adds)."""
    seen = main.seen_tokens.get(call.model)
    if seen is None:
        seen = main.seen_tokens[call.model] = [0] * _KINDS
    # Added in place, field by field: this runs for every call (backfill's tens of thousands), lists per call cost.
    usage = call.usage
    seen[0] += usage.input_tokens
    seen[1] += usage.output_tokens
    seen[2] += usage.cache_read_tokens
    seen[3] += usage.cache_creation_5m_tokens
    seen[4] += usage.cache_creation_1h_tokens
    if call.replaces is not None:
        for at, before in enumerate(_vector(call.replaces)):
            seen[at] -= before


class HeldCounts(TokenCounts, Protocol):
    """TokenCounts with the subagent calls read ahead of their run's cost-state line (the live agent's)."""

    held_tokens: list[tuple[int, str, list[int]]]  # (call time, model, tokens as seen_tokens counts them)


MAX_HELD_CALLS = 4096  # past this, the oldest held call counts at once (as it did before calls were held)


def hold_call(main: HeldCounts, call: LlmCall) -> None:
    """A subagent call of a later run, read at an earlier run's cost-state line (a replay or a backlog reads the
    session's subagent files whole there): counted by `count_held` at its own run's line, as backfill counts it."""
    tokens = _vector(call.usage)
    if call.replaces is not None:
        tokens = [now - before for now, before in zip(tokens, _vector(call.replaces), strict=True)]
    main.held_tokens.append((call.timestamp_ns, call.model, tokens))
    if len(main.held_tokens) > MAX_HELD_CALLS:
        _, model, oldest = main.held_tokens.pop(0)
        _add(main, model, oldest)


def count_held(main: HeldCounts, before_ns: int | None) -> None:
    """Counts the held calls made before `before_ns`, the next run's first main call (None: every one)."""
    if not main.held_tokens:
        return
    later: list[tuple[int, str, list[int]]] = []
    for held in main.held_tokens:
        if before_ns is None or held[0] < before_ns:
            _add(main, held[1], held[2])
        else:
            later.append(held)
    main.held_tokens = later


def next_runs(items: list[LlmCall | CostState]) -> list[int | None]:
    """For each cost-state line among `items` (a main transcript's, in file order), the earliest call after it: when
    the next run had started (a later subagent call is held for that run's line). Last line first."""
    next_runs: list[int | None] = []
    earliest: int | None = None
    for item in reversed(items):
        if isinstance(item, LlmCall):
            earliest = item.timestamp_ns if earliest is None else min(earliest, item.timestamp_ns)
        else:
            next_runs.append(earliest)
    return next_runs  # popped from the end: the first line's first


def _add(main: TokenCounts, model: str, tokens: list[int]) -> None:
    seen = main.seen_tokens.setdefault(model, [0] * _KINDS)
    for at, count in enumerate(tokens):
        seen[at] += count


def unseen_usage(main: TokenCounts, state: CostState) -> dict[str, Usage]:
    """Per model, the tokens Claude Code counted since its previous cost-state line that no transcript line showed.

    A total below the previous one means Claude Code counted from zero again (a new process that did not carry the
    session's totals): its whole figure is then the growth."""
    unseen: dict[str, Usage] = {}
    for model, usage in state.models.items():
        now = _state_vector(usage)
        before = main.cost_state_tokens.get(model) or [0] * _KINDS
        grown = [a - b for a, b in zip(now, before, strict=True)]
        if any(g < 0 for g in grown):
            grown = now
        seen = main.seen_tokens.get(model) or [0] * _KINDS
        missing = [max(g - s, 0) for g, s in zip(grown, seen, strict=True)]
        if any(missing):
            unseen[model] = Usage(
                input_tokens=missing[0],
                output_tokens=missing[1],
                cache_read_tokens=missing[2],
                cache_creation_tokens=missing[3] + missing[4],
                cache_creation_5m_tokens=missing[3],
                cache_creation_1h_tokens=missing[4],
            )
        main.cost_state_tokens[model] = now
    main.seen_tokens = {}
    return unseen


def unseen_call(
    session_id: str, model: str, usage: Usage, state: CostState, path: str, start_ns: int, end_ns: int, cwd: str | None
) -> LlmCall:
    """The call of `model` that `state`'s line counted and no transcript line showed. Identified by the line's place
    and the model (no response id exists), so every read of the transcript, live or backfill, gives the same span."""
    return LlmCall(
        session_id=session_id,
        model=model,
        usage=usage,
        timestamp_ns=end_ns,
        start_ns=start_ns,
        uuid=f"cost-state@{state.offset}:{model}",
        prompt_id=state.prompt_id,  # its turn, when no compaction is known to hold it
        cwd=cwd,
        path=path,
        offset=state.offset,
    )
