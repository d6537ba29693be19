"""One `chat {model}` span per API response, following the GenAI conventions for Anthropic inference.

Token attributes: `gen_ai.usage.input_tokens` is the request's whole input, uncached input + cache reads + cache
writes, as the GenAI Anthropic convention prescribes ("Anthropic input_tokens excludes cached tokens. Compute:
input_tokens + cache_read_input_tokens + cache_creation_input_tokens"), so the figure means the same for every
provider; the cache attributes are parts of it, and Anthropic's own uncached figure is kept as
`claude_code.usage.uncached.input_tokens`, since that is what the input price applies to.
The span id is derived from message id and request id, so a transcript read twice yields the same span.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.export import ids
from otel_claude.export.span_emitter import FinishedSpan
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.model import LlmCall


def llm_span_id(call: LlmCall) -> int:
    """The span id of a call: from message id and request id (the dedup key), else from the line."""
    if call.message_id:
        return ids.span_id_for("llm", call.message_id, call.request_id or "")
    return ids.span_id_for("llm", *call.key)


def turn_trace_id(session_id: str, prompt_id: str | None) -> int:
    """The trace of a turn when no live turn span names one (backfill): one trace per session and prompt."""
    return ids.trace_id_for("turn", session_id, prompt_id or "")


def llm_attributes(call: LlmCall, cost: CostResult, price_table_version: str = "") -> dict[str, AttributeValue]:
    usage = call.usage
    attributes: dict[str, AttributeValue] = {
        sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.GEN_AI_PROVIDER_ANTHROPIC,
        sc.GEN_AI_REQUEST_MODEL: call.requested_model or call.model,
        sc.GEN_AI_RESPONSE_MODEL: call.model,
        sc.GEN_AI_USAGE_INPUT_TOKENS: usage.prompt_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cache_read_tokens,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: usage.cache_creation_tokens,
        sc.CC_UNCACHED_INPUT_TOKENS: usage.input_tokens,
        sc.CC_CACHE_CREATION_5M_TOKENS: usage.cache_creation_5m_tokens,
        sc.CC_CACHE_CREATION_1H_TOKENS: usage.cache_creation_1h_tokens,
        sc.CC_COST_USD: cost.usd,
        sc.CC_COST_KNOWN: cost.known,
        sc.CC_COST_TIER: cost.tier,
        sc.CC_LONG_CONTEXT: cost.tier == "long_context",
        sc.CC_SPAN_TYPE: sc.SPAN_TYPE_LLM,
        sc.CC_AGENT_KIND: "subagent" if call.agent_id or call.is_sidechain else "main",
    }
    if call.message_id:
        attributes[sc.GEN_AI_RESPONSE_ID] = call.message_id
    if call.request_id:
        attributes[sc.CC_REQUEST_ID] = call.request_id
    if call.stop_reason:
        attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [call.stop_reason]
    if usage.speed:
        attributes[sc.CC_SPEED] = usage.speed
    if usage.inference_geo:
        attributes[sc.CC_INFERENCE_GEO] = usage.inference_geo
    if call.agent_id:
        attributes[sc.GEN_AI_AGENT_ID] = call.agent_id
    if call.prompt_id:
        attributes[sc.CC_PROMPT_ID] = call.prompt_id
    if price_table_version:
        attributes[sc.CC_PRICE_TABLE] = price_table_version
    return attributes


def build_llm_span(
    call: LlmCall,
    cost: CostResult,
    trace_id: int,
    parent_span_id: int | None,
    common_attributes: Mapping[str, AttributeValue],
    price_table_version: str = "",
) -> FinishedSpan:
    """The span of one call, parented in its turn (or in its subagent's span) by the ids the caller passes.

    `common_attributes` are the session-wide ones (session.id, gen_ai.conversation.id, claude_code.project,
    user.name); the call's own attributes win over them where both name the same key (e.g. the request model).
    """
    return FinishedSpan(
        name=sc.chat_span_name(call.model),
        trace_id=trace_id,
        span_id=llm_span_id(call),
        parent_span_id=parent_span_id,
        start_ns=min(call.start_ns, call.timestamp_ns),
        end_ns=max(call.timestamp_ns, call.end_ns or 0),  # the last content block's line, where known
        attributes={**common_attributes, **llm_attributes(call, cost, price_table_version)},
        kind=SpanKind.CLIENT,
    )


def turn_cost_attributes(reported_usd: float | None, our_session_usd: float) -> dict[str, AttributeValue]:
    """For the turn span at turn end: Claude Code's own running cost of the session (its latest cost-state line)
    beside ours, so a dashboard shows both and any drift."""
    attributes: dict[str, AttributeValue] = {sc.CC_SESSION_COST_USD: our_session_usd}
    if reported_usd is not None:
        attributes[sc.CC_REPORTED_COST_USD] = reported_usd
    return attributes
