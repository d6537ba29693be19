"""Token and cost totals of the LLM calls inside a turn, a subagent and a session, for the spans that frame them.

A call adds to the total of the turn trace it sits in (its subagents' calls sit in the same trace, so a turn's
total includes them), to its subagent's span when it has one, and to its session. The totals live in the agent's
snapshot (bounded: the least recently touched are forgotten), so a turn span held until its transcript settled
gets them whole, across an agent restart too.
"""

from __future__ import annotations

from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.live.state import AgentState
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.model import Usage

MAX_TOTALS = 4096
_FIELDS = 6  # prompt input, output, cache read, cache creation, cost (USD), calls


def turn_key(trace_id: int) -> str:
    return f"turn:{trace_id:032x}"


def subagent_key(span_id: int) -> str:
    return f"subagent:{span_id:016x}"


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def add(
    state: AgentState, keys: list[str], usage: Usage, cost: CostResult, previous: tuple[Usage, float] | None
) -> None:
    """Adds one call (or, for a line that superseded an earlier one of the same response, the difference)."""
    delta = [
        float(usage.prompt_tokens),
        float(usage.output_tokens),
        float(usage.cache_read_tokens),
        float(usage.cache_creation_tokens),
        cost.usd,
        1.0,
    ]
    if previous is not None:
        before, before_usd = previous
        delta = [
            delta[0] - before.prompt_tokens,
            delta[1] - before.output_tokens,
            delta[2] - before.cache_read_tokens,
            delta[3] - before.cache_creation_tokens,
            delta[4] - before_usd,
            0.0,
        ]
    for key in keys:
        totals = state.llm_totals.pop(key, None) or [0.0] * _FIELDS
        state.llm_totals[key] = [a + b for a, b in zip(totals, delta, strict=True)]  # re-inserted: newest last
    while len(state.llm_totals) > MAX_TOTALS:
        del state.llm_totals[next(iter(state.llm_totals))]


def span_attributes(state: AgentState, key: str) -> dict[str, AttributeValue]:
    """The totals as the GenAI usage attributes of an invoke_agent span, plus our cost and call count."""
    totals = state.llm_totals.get(key) or [0.0] * _FIELDS
    return {
        sc.GEN_AI_USAGE_INPUT_TOKENS: int(totals[0]),
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: int(totals[1]),
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: int(totals[2]),
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: int(totals[3]),
        sc.CC_COST_USD: round(totals[4], 9),
        sc.CC_LLM_CALLS: int(totals[5]),
    }


def session_cost(state: AgentState, session_id: str) -> float:
    totals = state.llm_totals.get(session_key(session_id))
    return round(totals[4], 9) if totals else 0.0
