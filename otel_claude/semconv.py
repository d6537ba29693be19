"""Every span, attribute and metric name otel-claude emits, in one place.

Shared names follow the OpenTelemetry GenAI semantic conventions
(https://github.com/open-telemetry/semantic-conventions-genai, docs/gen-ai/) and core semconv
(`error.type`, `session.id`, `user.name`, `host.name`). What is ours is prefixed:
- attributes that describe Claude Code concepts: `claude_code.`;
- metrics: `otel_claude.`, so none can ever collide with Claude Code's own native metrics
  (`claude_code.token.usage`, `claude_code.cost.usage`, `claude_code.session.count`, ...), which a user
  may send to the same Collector.
Nothing else in the package spells these names as string literals.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions (Development status) -------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_USAGE_PREFIX: Final = "gen_ai.usage."  # every token count the conventions define starts so

GEN_AI_OPERATION_CHAT: Final = "chat"
GEN_AI_OPERATION_INVOKE_AGENT: Final = "invoke_agent"
GEN_AI_OPERATION_EXECUTE_TOOL: Final = "execute_tool"
GEN_AI_PROVIDER_ANTHROPIC: Final = "anthropic"
GEN_AI_TOOL_TYPE_FUNCTION: Final = "function"
GEN_AI_TOKEN_TYPE_INPUT: Final = "input"
GEN_AI_TOKEN_TYPE_OUTPUT: Final = "output"

# --- core semantic conventions -------------------------------------------------------------------
ERROR_TYPE: Final = "error.type"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"  # a failed API call (chat span) and a StopFailure
SESSION_ID: Final = "session.id"
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
USER_NAME: Final = "user.name"
HOST_NAME: Final = "host.name"
TELEMETRY_DISTRO_NAME: Final = "telemetry.distro.name"
TELEMETRY_DISTRO_VERSION: Final = "telemetry.distro.version"
PROCESS_EXIT_CODE: Final = "process.exit.code"  # a failed Bash call's exit code
# The attribute of the one series a metric's measurements beyond its cardinality limit go to (OTel metrics SDK spec,
# "Cardinality limits": https://opentelemetry.io/docs/specs/otel/metrics/sdk/#overflow-attribute).
OTEL_METRIC_OVERFLOW: Final = "otel.metric.overflow"

# --- ours: Claude Code concepts ------------------------------------------------------------------
CC_SPAN_TYPE: Final = "claude_code.span.type"  # turn | tool | subagent | llm | session | compaction
CC_HOOK_EVENT: Final = "claude_code.hook.event"
CC_PROJECT: Final = "claude_code.project"
# Opt-in organisation label set at install (OTEL_CLAUDE_TEAM): a resource attribute and metric label. No semconv
# attribute names a team (user.name and host.name are the core ones), so it is ours.
CC_TEAM: Final = "claude_code.team"
CC_PROMPT_ID: Final = "claude_code.prompt.id"
CC_PERMISSION_MODE: Final = "claude_code.permission_mode"
CC_EFFORT: Final = "claude_code.effort"
CC_CWD: Final = "claude_code.cwd"
CC_TOOL_OUTCOME: Final = "claude_code.tool.outcome"
CC_TOOL_DURATION_MS: Final = "claude_code.tool.duration_ms"
CC_TOOL_ERROR: Final = "claude_code.tool.error"  # content: only with capture on, then redacted
CC_TOOL_INPUT_SIZE: Final = "claude_code.tool.input.size"
CC_TOOL_RESPONSE_SIZE: Final = "claude_code.tool.response.size"
CC_TOOL_SUMMARY: Final = "claude_code.tool.summary"  # safe metadata: the file or command name, never content
CC_UNFINISHED: Final = "claude_code.unfinished"  # true when a span was closed by us, not by its end event
CC_CLOSED_BY: Final = "claude_code.closed_by"  # the event that closed an unfinished span
CC_AGENT_KIND: Final = "claude_code.agent.kind"  # main | subagent
CC_SUBAGENT_TYPE: Final = "claude_code.subagent.type"
CC_SUBAGENT_BACKGROUND: Final = "claude_code.subagent.background"
CC_SUBAGENT_PARENT_TOOL_CALL_ID: Final = "claude_code.subagent.parent_tool_call.id"
CC_TURN_OUTCOME: Final = "claude_code.turn.outcome"  # completed | failed | unfinished
CC_TURN_TRIGGER: Final = "claude_code.turn.trigger"  # prompt | implicit
CC_TURN_PROMPTS: Final = "claude_code.turn.prompts"
CC_PROMPT_SIZE: Final = "claude_code.prompt.size"
CC_PROMPT: Final = "claude_code.prompt"  # content: only with capture on, then redacted
CC_STOP_ERROR: Final = "claude_code.stop.error"
CC_STOP_ERROR_DETAILS: Final = "claude_code.stop.error_details"  # content: only with capture on, then redacted
CC_SESSION_SOURCE: Final = "claude_code.session.source"
CC_SESSION_END_REASON: Final = "claude_code.session.end_reason"
CC_COMPACTION_TRIGGER: Final = "claude_code.compaction.trigger"
CC_NOTIFICATION_TYPE: Final = "claude_code.notification.type"
CC_EVENT_PAYLOAD: Final = "claude_code.event.payload"  # the whole HookInput: only with capture on
CC_EVENT_FIELDS: Final = "claude_code.event.fields"  # names of the fields the event carried
CC_RECEIVED_AT: Final = "claude_code.hook.received_at"
CC_REDACTED_KEYS: Final = "claude_code.redacted.keys"  # which attributes the redactor changed
# LLM-call spans: cost and cache detail beyond the GenAI conventions.
CC_COST_USD: Final = "claude_code.cost.usd"
CC_COST_KNOWN: Final = "claude_code.cost.known"
CC_CACHE_CREATION_5M_TOKENS: Final = "claude_code.usage.cache_creation.5m.input_tokens"
CC_CACHE_CREATION_1H_TOKENS: Final = "claude_code.usage.cache_creation.1h.input_tokens"
CC_REQUEST_ID: Final = "claude_code.request.id"
CC_SPEED: Final = "claude_code.speed"
CC_LONG_CONTEXT: Final = "claude_code.long_context"
CC_REPORTED_COST_USD: Final = "claude_code.reported.cost.usd"  # Claude Code's own cost-state figure
CC_TOKEN_KIND: Final = "claude_code.token.kind"  # input | output | cache_read | cache_creation
CC_BACKFILL: Final = "claude_code.backfill"
CC_REDACTED_PATTERNS: Final = "claude_code.redacted.patterns"  # names of the secret kinds the redactor removed
CC_COST_TIER: Final = "claude_code.cost.tier"  # standard | long_context | unknown_model | fast_unpriced
CC_PRICE_TABLE: Final = "claude_code.cost.price_table"  # version of the price table that priced the call
CC_INFERENCE_GEO: Final = "claude_code.inference_geo"
CC_UNCACHED_INPUT_TOKENS: Final = "claude_code.usage.uncached.input_tokens"  # Anthropic's own input_tokens
CC_SESSION_COST_USD: Final = "claude_code.session.cost.usd"  # our running total, beside CC_REPORTED_COST_USD
CC_EXPORT_SIGNAL: Final = "claude_code.export.signal"  # traces | metrics, on export-failure counts
CC_DEAD_LETTER_REASON: Final = "claude_code.dead_letter.reason"
CC_TOOL_PERMISSION_REQUESTED: Final = "claude_code.tool.permission_requested"
CC_PERMISSION_DENIED_REASON: Final = "claude_code.permission.denied_reason"  # content: only with capture on
CC_PERMISSION_DENIED_CATEGORY: Final = "claude_code.permission.denied_category"  # classifier | hook | rule | ...
CC_TOOL_ERROR_SIZE: Final = "claude_code.tool.error.size"  # bytes of the error text, exported in every mode
CC_STOP_API_ERROR_TYPE: Final = "claude_code.stop.api_error_type"  # the API body's error.type
CC_TOOL_BATCH_SIZE: Final = "claude_code.tool.batch.size"
CC_SUBAGENT_START_MISSING: Final = "claude_code.subagent.start_missing"
# On a chat span that no transcript line shows (e.g. /compact's summary), counted from Claude Code's cost-state line.
CC_LLM_SOURCE: Final = "claude_code.llm.source"
LLM_SOURCE_COST_STATE: Final = "cost_state"
CC_PERMISSION_DECISION: Final = "claude_code.permission.decision"  # granted | denied | unknown
PERMISSION_GRANTED: Final = "granted"
PERMISSION_DENIED: Final = "denied"
PERMISSION_UNKNOWN: Final = "unknown"
CC_VERSION: Final = "claude_code.version"  # the Claude Code that wrote the transcript (session and turn spans)
CC_LLM_CALLS: Final = "claude_code.llm.calls"  # on turn and subagent spans: how many LLM calls their totals sum

# Span type values.
SPAN_TYPE_SESSION: Final = "session"
SPAN_TYPE_TURN: Final = "turn"
SPAN_TYPE_TOOL: Final = "tool"
SPAN_TYPE_SUBAGENT: Final = "subagent"
SPAN_TYPE_LLM: Final = "llm"
SPAN_TYPE_COMPACTION: Final = "compaction"
SPAN_TYPE_TOOL_EXECUTION: Final = "tool_execution"
SPAN_TYPE_PERMISSION_WAIT: Final = "permission_wait"

# Tool outcomes.
OUTCOME_SUCCESS: Final = "success"
OUTCOME_ERROR: Final = "error"
OUTCOME_INTERRUPTED: Final = "interrupted"
OUTCOME_PERMISSION_DENIED: Final = "permission_denied"
OUTCOME_UNFINISHED: Final = "unfinished"
OUTCOME_BLOCKED: Final = "blocked"  # Claude Code refused the call itself (no PreToolUse fired); from the transcript
TOOL_OUTCOMES: Final = (
    OUTCOME_SUCCESS,
    OUTCOME_ERROR,
    OUTCOME_INTERRUPTED,
    OUTCOME_PERMISSION_DENIED,
    OUTCOME_UNFINISHED,
    OUTCOME_BLOCKED,
)
RAN_OUTCOMES: Final = (OUTCOME_SUCCESS, OUTCOME_ERROR, OUTCOME_INTERRUPTED)  # calls that executed

# Turn outcomes.
TURN_COMPLETED: Final = "completed"
TURN_FAILED: Final = "failed"
TURN_UNFINISHED: Final = "unfinished"
TURN_INTERRUPTED: Final = "interrupted"  # the user pressed Esc during a tool call (from the transcript)

# Token kinds, as the `claude_code.token.kind` label of the token counter.
TOKEN_KIND_INPUT: Final = "input"
TOKEN_KIND_OUTPUT: Final = "output"
TOKEN_KIND_CACHE_READ: Final = "cache_read"
TOKEN_KIND_CACHE_CREATION: Final = "cache_creation"
TOKEN_KINDS: Final = (TOKEN_KIND_INPUT, TOKEN_KIND_OUTPUT, TOKEN_KIND_CACHE_READ, TOKEN_KIND_CACHE_CREATION)

# --- span names ----------------------------------------------------------------------------------
SPAN_SESSION: Final = "claude_code.session"
SPAN_COMPACTION: Final = "claude_code.compaction"
# Children of a tool span, named as Claude Code's own beta traces name them (tool.execution, tool.blocked_on_user).
SPAN_TOOL_EXECUTION: Final = "claude_code.tool.execution"
SPAN_TOOL_PERMISSION_WAIT: Final = "claude_code.tool.blocked_on_user"
AGENT_NAME_MAIN: Final = "claude-code"


def turn_span_name() -> str:
    return f"{GEN_AI_OPERATION_INVOKE_AGENT} {AGENT_NAME_MAIN}"


def subagent_span_name(agent_type: str) -> str:
    return f"{GEN_AI_OPERATION_INVOKE_AGENT} {agent_type or 'subagent'}"


def tool_span_name(tool_name: str) -> str:
    return f"{GEN_AI_OPERATION_EXECUTE_TOOL} {tool_name}"


def chat_span_name(model: str) -> str:
    return f"{GEN_AI_OPERATION_CHAT} {model}"


# --- metrics -------------------------------------------------------------------------------------
# Names as the SDK sees them; Prometheus stores them with `_total` (counters) and the unit suffix
# (`_seconds`, `_USD`), e.g. otel_claude_tool_calls_total, otel_claude_tool_duration_seconds_bucket.
METRIC_HOOK_EVENTS: Final = "otel_claude.hook.events"
METRIC_TOOL_CALLS: Final = "otel_claude.tool.calls"
METRIC_TOOL_DURATION: Final = "otel_claude.tool.duration"
METRIC_TOOL_ERRORS: Final = "otel_claude.tool.errors"
METRIC_SESSIONS: Final = "otel_claude.sessions"
METRIC_TURNS: Final = "otel_claude.turns"
METRIC_TURN_DURATION: Final = "otel_claude.turn.duration"
METRIC_SUBAGENTS: Final = "otel_claude.subagents"
METRIC_SUBAGENT_DURATION: Final = "otel_claude.subagent.duration"
METRIC_COMPACTIONS: Final = "otel_claude.compactions"
METRIC_PERMISSION_REQUESTS: Final = "otel_claude.permission.requests"
METRIC_PERMISSION_WAIT: Final = "otel_claude.permission.wait"  # seconds a tool call waited for the user's decision
METRIC_NOTIFICATIONS: Final = "otel_claude.notifications"
METRIC_TOKENS: Final = "otel_claude.tokens"
METRIC_COST: Final = "otel_claude.cost"
METRIC_LLM_CALLS: Final = "otel_claude.llm.calls"
METRIC_REPORTED_COST: Final = "otel_claude.reported.cost"  # Claude Code's own cost (counter of cost-state increments)
METRIC_GEN_AI_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
# Pipeline health.
METRIC_SPOOL_BACKLOG: Final = "otel_claude.spool.backlog"
METRIC_SPOOL_BACKLOG_BYTES: Final = "otel_claude.spool.backlog.bytes"
METRIC_SPOOL_DROPPED: Final = "otel_claude.spool.dropped"
METRIC_RECORDS_PROCESSED: Final = "otel_claude.records.processed"
METRIC_DEAD_LETTERS: Final = "otel_claude.dead_letters"
METRIC_EXPORT_FAILURES: Final = "otel_claude.export.failures"

UNIT_SECONDS: Final = "s"
UNIT_USD: Final = "USD"
UNIT_TOKEN: Final = "{token}"
UNIT_BYTES: Final = "By"


# --- the same names as Prometheus stores them ------------------------------------------------------
# What the SDK's Prometheus exporter and the Collector's prometheus exporters do to a name (dashboards, rules,
# `demo` and backfill's OpenMetrics file spell these, so they are derived here, never typed out elsewhere).
# UCUM units to Prometheus suffixes: only the units our instruments use; `{annotation}` units add none.
NATIVE_TOKEN_UNIT: Final = "tokens"  # Claude Code's own token metric spells its unit without braces
_PROMETHEUS_UNITS: Final = {UNIT_SECONDS: "seconds", UNIT_USD: "USD", UNIT_BYTES: "bytes", NATIVE_TOKEN_UNIT: "tokens"}


def prometheus_name(name: str) -> str:
    """An attribute or metric name as a Prometheus label or metric name: anything outside [A-Za-z0-9_] -> `_`."""
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name)


def prometheus_metric(name: str, unit: str = "", *, counter: bool = False) -> str:
    """The name Prometheus stores for a metric, with its unit's suffix and `_total` for a counter.

    `otel_claude.tool.duration` in `s` -> `otel_claude_tool_duration_seconds` (histogram series add `_bucket`,
    `_sum`, `_count`); the counter `otel_claude.cost` in `USD` -> `otel_claude_cost_USD_total`.
    """
    suffix = "" if unit.startswith("{") else _PROMETHEUS_UNITS.get(unit, "")
    return prometheus_name(name) + (f"_{suffix}" if suffix else "") + ("_total" if counter else "")


# Bucket boundaries fit for each unit (the SDK's defaults are sized for milliseconds).
TOOL_DURATION_BUCKETS_S: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
TURN_DURATION_BUCKETS_S: Final = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
# gen_ai.client.token.usage: the buckets the GenAI metrics convention recommends.
TOKEN_USAGE_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

# --- Claude Code's own (native) metrics ----------------------------------------------------------------------
# Not emitted by otel-claude: what Claude Code's native OTel export sends when the user enables it
# (CLAUDE_CODE_ENABLE_TELEMETRY=1), read beside ours on the Cost dashboard. Names as of Claude Code 2.1.330
# (tests/fixtures/claude-code-2.1.330/sessions/main/otel/metrics.jsonl).
NATIVE_COST_METRIC: Final = "claude_code.cost.usage"  # USD, delta sum
NATIVE_TOKEN_METRIC: Final = "claude_code.token.usage"  # tokens, delta sum
NATIVE_MODEL: Final = "model"
NATIVE_TOKEN_TYPE: Final = "type"  # input | output | cacheRead | cacheCreation
NATIVE_TOKEN_TYPES: Final = {
    "input": TOKEN_KIND_INPUT,
    "output": TOKEN_KIND_OUTPUT,
    "cacheRead": TOKEN_KIND_CACHE_READ,
    "cacheCreation": TOKEN_KIND_CACHE_CREATION,
}
