"""Bounded classifications of failures, so that with content capture off no error text leaves the machine.

A tool's error text is the command's own output (stderr with whatever it printed: names, addresses, file
contents); a StopFailure's `error_details` is a whole API response body; a permission denial's `reason` is a
sentence. None of them is safe to export, and none of them is bounded. What is exported instead is a class
from a fixed list, the text's size, and the numbers in it that are codes (a Bash exit code, an HTTP status),
plus a status description that is a fixed phrase per class. The text itself goes out only with content capture
on, and then redacted before it is cut (see span_factory.json_text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from otel_claude import semconv as sc

OTHER: Final = "other"

# (pattern, class), first match wins. Claude Code's Bash failures start with "Exit code N" (hooks reference,
# PostToolUseFailure); the others are the messages of its built-in tools and of common system errors.
_TOOL_ERROR_CLASSES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\A\s*Exit code -?\d+"), "nonzero_exit"),
    (re.compile(r"timed? ?out|timeout|deadline exceeded", re.IGNORECASE), "timeout"),
    (re.compile(r"permission denied|not permitted|EACCES|EPERM|access denied|forbidden", re.IGNORECASE), "permission"),
    (re.compile(r"does not exist|no such file|not found|ENOENT|unknown (?:tool|command)", re.IGNORECASE), "not_found"),
    (re.compile(r"has not been read|must read|modified since", re.IGNORECASE), "stale_read"),
    (re.compile(r"String to replace not found|old_string|found \d+ matches", re.IGNORECASE), "edit_mismatch"),
    (
        re.compile(r"InputValidationError|invalid input|validation|invalid (?:argument|parameter)", re.IGNORECASE),
        "invalid_input",
    ),
    (re.compile(r"\bhook\b.*\b(?:block|denied|prevent)", re.IGNORECASE), "hook_blocked"),
    (
        re.compile(
            r"ECONNREFUSED|ECONNRESET|ENOTFOUND|connection (?:refused|reset)|network|fetch failed|\b5\d\d\b",
            re.IGNORECASE,
        ),
        "network",
    ),
    (re.compile(r"too large|too long|exceeds? (?:the )?maximum|too many", re.IGNORECASE), "too_large"),
    (re.compile(r"\bMCP\b|mcp__", re.IGNORECASE), "mcp_error"),
)
TOOL_ERROR_TYPES: Final = (
    sc.OUTCOME_INTERRUPTED,
    *dict.fromkeys(name for _, name in _TOOL_ERROR_CLASSES),
    "tool_error",
)

# The status description of a failed tool call: one fixed phrase per class, never the error's words.
_TOOL_ERROR_PHRASES: Final = {
    sc.OUTCOME_INTERRUPTED: "tool call interrupted",
    "nonzero_exit": "command exited with a nonzero status",
    "timeout": "tool call timed out",
    "permission": "permission error",
    "not_found": "not found",
    "stale_read": "file changed since it was read",
    "edit_mismatch": "text to replace not found",
    "invalid_input": "invalid tool input",
    "hook_blocked": "blocked by a hook",
    "network": "network error",
    "too_large": "input or output too large",
    "mcp_error": "MCP server error",
    "tool_error": "tool error",
}
_EXIT_CODE_RE: Final = re.compile(r"\A\s*Exit code (-?\d{1,6})\b")


@dataclass(frozen=True)
class ToolFailure:
    """What a failed tool call exports with content capture off."""

    error_type: str
    size: int  # bytes of the error text
    exit_code: int | None
    description: str  # the span status description: a fixed phrase

    def attributes(self) -> dict[str, Any]:
        pairs = (
            (sc.ERROR_TYPE, self.error_type),
            (sc.CC_TOOL_ERROR_SIZE, self.size),
            (sc.PROCESS_EXIT_CODE, self.exit_code),
        )
        return {name: value for name, value in pairs if value is not None}


def classify_tool_error(error: str, interrupted: bool) -> ToolFailure:
    """The class, size and exit code of a PostToolUseFailure's `error` (a bounded `error.type`)."""
    error_type = sc.OUTCOME_INTERRUPTED if interrupted else _first_class(error)
    exit_m = _EXIT_CODE_RE.match(error)
    return ToolFailure(
        error_type=error_type,
        size=len(error.encode("utf-8", "surrogatepass")),
        exit_code=int(exit_m.group(1)) if exit_m is not None else None,
        description=_TOOL_ERROR_PHRASES[error_type],
    )


def _first_class(error: str) -> str:
    head = error[:4096]  # the class is in the first lines; a 10,000-character output need not be searched whole
    for pattern, name in _TOOL_ERROR_CLASSES:
        if pattern.search(head):
            return name
    return "tool_error"


# --- permission denials: the category, not the reason's words ---------------------------------------------
_DENIAL_CATEGORIES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"classifier.*(?:unavailable|error|fail|timed? ?out)", re.IGNORECASE), "classifier_unavailable"),
    (re.compile(r"classifier|auto[- ]?mode|unsafe|risk", re.IGNORECASE), "classifier"),
    (re.compile(r"\bhook", re.IGNORECASE), "hook"),
    (re.compile(r"\brule|settings|policy|managed|deny list|denylist|not allowed", re.IGNORECASE), "rule"),
    (re.compile(r"\buser\b|rejected|declined", re.IGNORECASE), "user"),
    (re.compile(r"sandbox", re.IGNORECASE), "sandbox"),
)
DENIAL_CATEGORIES: Final = (*dict.fromkeys(name for _, name in _DENIAL_CATEGORIES), OTHER)


def denial_category(reason: str | None) -> str:
    """A bounded category for a PermissionDenied `reason`."""
    for pattern, name in _DENIAL_CATEGORIES:
        if reason and pattern.search(reason[:1024]):
            return name
    return OTHER


# --- StopFailure: the API error's type and status code ---------------------------------------------------
# Claude Code's own `error` values (hooks reference, StopFailure); anything else is "other".
STOP_ERRORS: Final = frozenset(
    {
        "rate_limit",
        "overloaded",
        "authentication_failed",
        "billing_error",
        "invalid_request",
        "model_not_found",
        "server_error",
        "max_output_tokens",
        "unknown",
        "prompt_too_long",
        "permission_error",
        "request_too_large",
        "timeout",
        "api_error",
        "network_error",
        "refusal",
    }
)
_STATUS_RE: Final = re.compile(r"\A\s*(?:API Error:?\s*)?([1-5]\d\d)\b")
# Anthropic's error body: {"type":"error","error":{"type":"invalid_request_error","message":...}}
_API_TYPE_RE: Final = re.compile(r'"error"\s*:\s*\{\s*"type"\s*:\s*"([a-z_]{1,48})"')
_IDENTIFIER_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,47}")


@dataclass(frozen=True)
class StopFailureClass:
    error: str  # Claude Code's `error`, bounded
    api_error_type: str | None  # the API's error type, from the body in `error_details`
    status_code: int | None
    description: str

    def attributes(self) -> dict[str, Any]:
        pairs = (
            (sc.ERROR_TYPE, self.error),
            (sc.CC_STOP_ERROR, self.error),
            (sc.CC_STOP_API_ERROR_TYPE, self.api_error_type),
            (sc.HTTP_RESPONSE_STATUS_CODE, self.status_code),
        )
        return {name: value for name, value in pairs if value is not None}


def api_error_type(raw: str | None) -> str | None:
    """The API's error type when it looks like one (`overloaded_error`); another text is not exported."""
    if raw is None:
        return None
    return raw if _IDENTIFIER_RE.fullmatch(raw) else OTHER


def classify_stop_failure(error: str | None, details: str | None) -> StopFailureClass:
    name = error if error in STOP_ERRORS else (OTHER if error else "unknown")
    details = (details or "")[:8192]
    status_m = _STATUS_RE.match(details)
    type_m = _API_TYPE_RE.search(details)
    api_type = api_error_type(type_m.group(1)) if type_m is not None else None
    return StopFailureClass(
        error=name,
        api_error_type=api_type,
        status_code=int(status_m.group(1)) if status_m is not None else None,
        description=f"turn failed: {name.replace('_', ' ')}",
    )
