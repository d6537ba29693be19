"""What the transcript reader yields: LLM calls (one per assistant usage line) and Claude Code's own cost-state lines.

Plain frozen dataclasses, so the agent can keep them in memory and the dedup can serialize what it needs.
Field names follow the transcript (Claude Code 2.1.330), units are tokens and nanoseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_claude.transcripts.slotted import pickled_by_fields, set_through_slots

SPEED_FAST = "fast"


@pickled_by_fields
@set_through_slots
@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one API response, as `message.usage` reports them."""

    input_tokens: int = 0  # uncached input only (Anthropic's `input_tokens` excludes cache reads and writes)
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0  # = cache_creation_5m_tokens + cache_creation_1h_tokens
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    speed: str | None = None  # standard | fast
    inference_geo: str | None = None  # e.g. "us" for US-only inference
    service_tier: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens

    @property
    def prompt_tokens(self) -> int:
        """Everything the request sent: the figure the vendor's prompt-length price tiers look at."""
        return self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens

    def to_list(self) -> list[Any]:
        return [
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_creation_tokens,
            self.cache_creation_5m_tokens,
            self.cache_creation_1h_tokens,
            self.speed,
            self.inference_geo,
            self.service_tier,
        ]

    @classmethod
    def from_list(cls, values: list[Any]) -> Usage:
        counts = [int(v) for v in values[:6]] + [0] * max(0, 6 - len(values))
        texts = [v if isinstance(v, str) else None for v in [*values[6:9], None, None, None][:3]]
        return cls(
            input_tokens=counts[0],
            output_tokens=counts[1],
            cache_read_tokens=counts[2],
            cache_creation_tokens=counts[3],
            cache_creation_5m_tokens=counts[4],
            cache_creation_1h_tokens=counts[5],
            speed=texts[0],
            inference_geo=texts[1],
            service_tier=texts[2],
        )


def usage_from_json(raw: Mapping[str, Any]) -> Usage | None:
    """`message.usage` to Usage; None when the required counts are missing (ccusage skips such lines too)."""
    fast = _usage_of_ints(raw)
    if fast is not None:
        return fast
    input_tokens = _count(raw.get("input_tokens"))
    output_tokens = _count(raw.get("output_tokens"))
    if input_tokens is None or output_tokens is None:
        return None
    total_creation = _count(raw.get("cache_creation_input_tokens")) or 0
    split = raw.get("cache_creation")
    if isinstance(split, Mapping):
        five = _count(split.get("ephemeral_5m_input_tokens")) or 0
        hour = _count(split.get("ephemeral_1h_input_tokens")) or 0
        if five + hour == 0 and total_creation > 0:
            # A breakdown of zeros beside a non-zero total: trust the total, priced as 5-minute writes.
            five = total_creation
    else:
        # Without the breakdown (Claude Code before the 1-hour cache), every write was a 5-minute write.
        five, hour = total_creation, 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=_count(raw.get("cache_read_input_tokens")) or 0,
        cache_creation_tokens=five + hour,
        cache_creation_5m_tokens=five,
        cache_creation_1h_tokens=hour,
        speed=_text(raw.get("speed")),
        inference_geo=_text(raw.get("inference_geo")),
        service_tier=_text(raw.get("service_tier")),
    )


def _usage_of_ints(raw: Mapping[str, Any]) -> Usage | None:
    """The usual shape (every count a non-negative int, the 5m/1h split present and adding up), read without the
    general path's per-field checks; None for anything else, which `usage_from_json` then reads field by field."""
    get = raw.get
    input_tokens, output_tokens = get("input_tokens", -1), get("output_tokens", -1)  # missing: refused below
    read, creation = get("cache_read_input_tokens", 0), get("cache_creation_input_tokens", 0)
    split = get("cache_creation")
    if type(split) is not dict:
        return None
    five, hour = split.get("ephemeral_5m_input_tokens", 0), split.get("ephemeral_1h_input_tokens", 0)
    # Spelled out, not any() over a generator: this runs once per response line.
    if not (
        type(input_tokens) is int
        and type(output_tokens) is int
        and type(read) is int
        and type(creation) is int
        and type(five) is int
        and type(hour) is int
        and input_tokens >= 0
        and output_tokens >= 0
        and read >= 0
        and five >= 0
        and hour >= 0
        and five + hour == creation  # with five and hour non-negative, creation is too
    ):
        return None
    speed, geo, tier = get("speed"), get("inference_geo"), get("service_tier")
    return Usage(  # positional, in field order: keywords cost more per call
        input_tokens,
        output_tokens,
        read,
        creation,
        five,
        hour,
        speed if type(speed) is str and speed else None,
        geo if type(geo) is str and geo else None,
        tier if type(tier) is str and tier else None,
    )


def _count(value: Any) -> int | None:
    if type(value) is int:  # the usual case, first: backfill decodes a cost-state line per turn
        return value if value > 0 else 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(int(value), 0)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@pickled_by_fields
@set_through_slots
@dataclass(frozen=True, slots=True)
class LlmCall:
    """One API response of Claude Code, as its transcript shows it."""

    session_id: str
    model: str  # message.model: the model that answered
    usage: Usage
    timestamp_ns: int  # the line's timestamp: when the response was written
    start_ns: int  # when the request was sent (its api-request line), else the line's timestamp
    message_id: str | None = None
    request_id: str | None = None
    requested_model: str | None = None
    stop_reason: str | None = None
    is_sidechain: bool = False
    agent_id: str | None = None  # set in subagent transcripts
    prompt_id: str | None = None  # the user prompt this call answers (the turn)
    uuid: str | None = None
    cwd: str | None = None
    path: str = ""  # the transcript file the call was read from
    offset: int = 0  # byte offset of its line in that file
    replaces: Usage | None = None  # set when this line superseded an earlier one for the same response
    end_ns: int | None = None  # the timestamp of the response's last line (one line per content block), once known

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies the response: message id and request id (ccusage's key), else the line itself."""
        if self.message_id:
            return (self.message_id, self.request_id or "")
        return (self.session_id, self.uuid or f"{self.path}@{self.offset}")


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Interrupt:
    """Tool calls the user stopped (Esc) or refused in a dialog: Claude Code fires no hook for an Esc, but writes
    their tool results ("The user doesn't want to proceed ...") with the time it happened."""

    tool_use_ids: tuple[str, ...]
    timestamp_ns: int
    offset: int = 0
    prompt_id: str | None = None  # the turn it ended


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RefusedCall:
    """A tool call Claude Code refused before running it (a `<tool_use_error>` result, e.g. "Blocked: standalone
    sleep 30"): no hook fires for some of these, so the transcript is the only witness."""

    tool_use_id: str
    tool_name: str
    start_ns: int  # the line of its tool_use block
    timestamp_ns: int  # the line of its result
    reason: str  # the result's text (may hold content: exported only as a redacted error, like tool errors)
    prompt_id: str | None = None
    offset: int = 0


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ApiError:
    """A request that failed: Claude Code writes a synthetic assistant line (`isApiErrorMessage`) for it."""

    session_id: str
    timestamp_ns: int
    start_ns: int  # the request's api-request line when this read saw it, else the line's time
    error_type: str  # apiErrorType (e.g. invalid_request_error, overloaded_error), else Claude Code's `error`
    status: int | None = None  # apiErrorStatus, the HTTP status
    request_id: str | None = None
    message_id: str | None = None
    prompt_id: str | None = None
    agent_id: str | None = None
    offset: int = 0
    cwd: str | None = None  # the session's directory then (backfill's project label, as a call's cwd)

    def key(self, session_id: str) -> str:
        """What identifies the failed request within its session: its message id, request id or place in the file."""
        return self.message_id or self.request_id or f"{session_id}@{self.offset}"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One model's entry in a cost-state line (`modelUsage`)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class CostState:
    """Claude Code's own running cost of the session (`type: cost-state` lines, 2.1.330; undocumented)."""

    session_id: str
    total_cost_usd: float
    models: Mapping[str, ModelUsage]
    has_unknown_model_cost: bool
    # The cost added since the previous cost-state this reader saw in the file, per model (never negative).
    delta_usd_by_model: Mapping[str, float] = field(default_factory=dict)
    offset: int = 0
    prompt_id: str | None = None  # the prompt of the lines before it: the turn its run ended with


def cost_state_from_json(data: Mapping[str, Any], offset: int) -> CostState | None:
    total = data.get("totalCostUSD")
    if isinstance(total, bool) or not isinstance(total, int | float):
        return None
    models: dict[str, ModelUsage] = {}
    raw_models = data.get("modelUsage")
    if type(raw_models) is dict or isinstance(raw_models, Mapping):  # a dict from JSON: no ABC check
        for name, raw in raw_models.items():
            if not isinstance(name, str) or not (type(raw) is dict or isinstance(raw, Mapping)):
                continue
            cost = raw.get("costUSD")
            models[name] = ModelUsage(
                input_tokens=_count(raw.get("inputTokens")) or 0,
                output_tokens=_count(raw.get("outputTokens")) or 0,
                cache_read_tokens=_count(raw.get("cacheReadInputTokens")) or 0,
                cache_creation_tokens=_count(raw.get("cacheCreationInputTokens")) or 0,
                cost_usd=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else 0.0,
                cache_creation_5m_tokens=_count(raw.get("cacheCreationEphemeral5mInputTokens")) or 0,
                cache_creation_1h_tokens=_count(raw.get("cacheCreationEphemeral1hInputTokens")) or 0,
            )
    return CostState(
        session_id=str(data.get("sessionId") or ""),
        total_cost_usd=float(total),
        models=models,
        has_unknown_model_cost=bool(data.get("hasUnknownModelCost")),
        offset=offset,
    )


def call_to_dict(call: LlmCall) -> dict[str, Any]:
    """A JSON-serializable form of `call`, for the agent's snapshot."""
    data = {name: getattr(call, name) for name in LlmCall.__dataclass_fields__}
    data["usage"] = call.usage.to_list()
    data["replaces"] = call.replaces.to_list() if call.replaces is not None else None
    return data


def call_from_dict(data: Mapping[str, Any]) -> LlmCall:
    """The inverse of `call_to_dict`; raises KeyError, TypeError or ValueError on a malformed entry."""
    fields = {name: data[name] for name in LlmCall.__dataclass_fields__ if name in data}
    fields["usage"] = Usage.from_list(list(data["usage"]))
    replaces = data.get("replaces")
    fields["replaces"] = Usage.from_list(list(replaces)) if replaces is not None else None
    return LlmCall(**fields)
