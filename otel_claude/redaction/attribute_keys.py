"""The span attribute keys whose values are kept as they are (ids, counts, bounded names), and the shape an id
must have: everything else the scrubber treats as text that may hold a secret."""

from __future__ import annotations

import re
from typing import Final

from otel_claude import semconv

# Safe attributes whose values are names taken from the payload or the transcript: they are not scrubbed as
# text, but each must look like a name (names.py) or it is replaced by a bounded form.
NAME_ATTRIBUTE_KEYS: Final = frozenset(
    {
        semconv.GEN_AI_AGENT_NAME,
        semconv.GEN_AI_TOOL_NAME,
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.GEN_AI_RESPONSE_MODEL,
        semconv.GEN_AI_RESPONSE_FINISH_REASONS,
        semconv.ERROR_TYPE,
        semconv.CC_HOOK_EVENT,
        semconv.CC_PERMISSION_MODE,
        semconv.CC_EFFORT,
        semconv.CC_CLOSED_BY,
        semconv.CC_SUBAGENT_TYPE,
        semconv.CC_TURN_TRIGGER,
        semconv.CC_SESSION_SOURCE,
        semconv.CC_SESSION_END_REASON,
        semconv.CC_COMPACTION_TRIGGER,
        semconv.CC_NOTIFICATION_TYPE,
        semconv.CC_EVENT_FIELDS,
        semconv.CC_SPEED,
        semconv.CC_PROJECT,
        semconv.CC_STOP_ERROR,
        semconv.CC_STOP_API_ERROR_TYPE,
        semconv.CC_PERMISSION_DENIED_CATEGORY,
        semconv.CC_TOOL_SUMMARY,
        semconv.CC_INFERENCE_GEO,
        semconv.CC_COST_TIER,
    }
)


# Attributes whose values are never scrubbed: ids, names, model names, counts. Values here are produced
# by otel-claude itself from structured fields, never from content.
SAFE_ATTRIBUTE_KEYS: Final = frozenset(
    {
        semconv.GEN_AI_OPERATION_NAME,
        semconv.GEN_AI_PROVIDER_NAME,
        semconv.GEN_AI_CONVERSATION_ID,
        semconv.GEN_AI_AGENT_ID,
        semconv.GEN_AI_AGENT_NAME,
        semconv.GEN_AI_TOOL_NAME,
        semconv.GEN_AI_TOOL_CALL_ID,
        semconv.GEN_AI_TOOL_TYPE,
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.GEN_AI_RESPONSE_MODEL,
        semconv.GEN_AI_RESPONSE_ID,
        semconv.GEN_AI_RESPONSE_FINISH_REASONS,
        semconv.GEN_AI_TOKEN_TYPE,
        semconv.ERROR_TYPE,
        semconv.SESSION_ID,
        semconv.SERVICE_NAME,
        semconv.SERVICE_VERSION,
        semconv.CC_SPAN_TYPE,
        semconv.CC_HOOK_EVENT,
        semconv.CC_PROMPT_ID,
        semconv.CC_PERMISSION_MODE,
        semconv.CC_EFFORT,
        semconv.CC_TOOL_OUTCOME,
        semconv.CC_TOOL_DURATION_MS,
        semconv.CC_TOOL_INPUT_SIZE,
        semconv.CC_TOOL_RESPONSE_SIZE,
        semconv.CC_UNFINISHED,
        semconv.CC_CLOSED_BY,
        semconv.CC_AGENT_KIND,
        semconv.CC_SUBAGENT_TYPE,
        semconv.CC_SUBAGENT_BACKGROUND,
        semconv.CC_SUBAGENT_PARENT_TOOL_CALL_ID,
        semconv.CC_TURN_OUTCOME,
        semconv.CC_TURN_TRIGGER,
        semconv.CC_TURN_PROMPTS,
        semconv.CC_PROMPT_SIZE,
        semconv.CC_SESSION_SOURCE,
        semconv.CC_SESSION_END_REASON,
        semconv.CC_COMPACTION_TRIGGER,
        semconv.CC_NOTIFICATION_TYPE,
        semconv.CC_EVENT_FIELDS,
        semconv.CC_RECEIVED_AT,
        semconv.CC_REDACTED_KEYS,
        semconv.CC_COST_USD,
        semconv.CC_COST_KNOWN,
        semconv.CC_CACHE_CREATION_5M_TOKENS,
        semconv.CC_CACHE_CREATION_1H_TOKENS,
        semconv.CC_REQUEST_ID,
        semconv.CC_SPEED,
        semconv.CC_LONG_CONTEXT,
        semconv.CC_REPORTED_COST_USD,
        semconv.CC_TOKEN_KIND,
        semconv.CC_BACKFILL,
        semconv.CC_TOOL_ERROR_SIZE,
        semconv.PROCESS_EXIT_CODE,
        semconv.HTTP_RESPONSE_STATUS_CODE,
        semconv.CC_SESSION_COST_USD,
        semconv.CC_TOOL_PERMISSION_REQUESTED,
        semconv.CC_TOOL_BATCH_SIZE,
        semconv.CC_SUBAGENT_START_MISSING,
        semconv.CC_COST_TIER,
        semconv.CC_PRICE_TABLE,
        semconv.CC_UNCACHED_INPUT_TOKENS,
        semconv.CC_INFERENCE_GEO,
        semconv.CC_REDACTED_PATTERNS,
        *NAME_ATTRIBUTE_KEYS,
    }
)
SAFE_ATTRIBUTE_PREFIXES: Final = (semconv.GEN_AI_USAGE_PREFIX,)


# Keys inside JSON payloads (HookInput, transcript lines) whose values are ids, paths or names.
SAFE_JSON_KEYS: Final = frozenset(
    {
        "session_id",
        "sessionId",
        "transcript_path",
        "agent_transcript_path",
        "cwd",
        "hook_event_name",
        "tool_use_id",
        "prompt_id",
        "promptId",
        "agent_id",
        "agentId",
        "agent_type",
        "agentType",
        "model",
        "id",
        "uuid",
        "parentUuid",
        "requestId",
        "request_id",
        "message_id",
        "messageId",
        "tool_name",
        "permission_mode",
        "permissionMode",
        "timestamp",
        "type",
        "role",
        "stop_reason",
        "subagent_type",
    }
)


# Safe attributes whose values are ids Claude Code makes. One of the shapes it makes passes as it is; anything
# else under such a key (a hand-written replay, a corrupt record) is scrubbed like any value.
ID_ATTRIBUTE_KEYS: Final = frozenset(
    {
        semconv.SESSION_ID,
        semconv.GEN_AI_CONVERSATION_ID,
        semconv.GEN_AI_TOOL_CALL_ID,
        semconv.GEN_AI_AGENT_ID,
        semconv.CC_PROMPT_ID,
        semconv.GEN_AI_RESPONSE_ID,
        semconv.CC_REQUEST_ID,
        semconv.CC_SUBAGENT_PARENT_TOOL_CALL_ID,
    }
)
ID_SHAPE_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # session, prompt: UUIDs
    r"|(?:toolu|srvtoolu|msg|req|call)_[A-Za-z0-9]{1,48}"  # tool calls, messages, requests
    r"|(?:agent-)?a?[0-9a-f]{6,40}"  # agents
    r"|t\d{1,20}"  # a turn named by its receive time (no prompt_id before 2.1.196)
)


def is_safe_attribute_key(key: str) -> bool:
    return key in SAFE_ATTRIBUTE_KEYS or key.startswith(SAFE_ATTRIBUTE_PREFIXES)
