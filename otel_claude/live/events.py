"""Pydantic models of Claude Code's HookInput, one per event, tolerant of what Claude Code adds later.

Unknown fields are kept (`extra="allow"`) and unknown events parse as the base model, so a newer Claude Code
never breaks the agent. What cannot be used at all (no session id, an identity field of the wrong type) raises
`InvalidHookInput` with a reason the agent writes to the dead-letter file.
Fields from the hooks reference and the 2.1.330 captures (../tests/fixtures/claude-code-2.1.330/hooks/).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class InvalidHookInput(ValueError):
    """A record the agent cannot use; the message is the dead-letter reason."""


class HookInput(BaseModel):
    """Fields common to every event; also the model of events this version does not know."""

    model_config = ConfigDict(extra="allow", frozen=True)
    event_name: ClassVar[str] = ""

    session_id: str
    hook_event_name: str
    transcript_path: str | None = None
    cwd: str | None = None
    prompt_id: str | None = None
    permission_mode: str | None = None
    effort: dict[str, Any] | None = None
    agent_id: str | None = None
    agent_type: str | None = None

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})

    @property
    def effort_level(self) -> str | None:
        level = (self.effort or {}).get("level")
        return level if isinstance(level, str) else None


class _ToolEvent(HookInput):
    tool_name: str
    tool_input: Any = None


class SessionStart(HookInput):
    event_name = "SessionStart"
    source: str | None = None
    model: str | None = None
    session_title: str | None = None
    context_tokens: int | None = None
    estimated_cache_write_usd: float | None = None
    prompt_cache_likely_expired: bool | None = None
    seconds_since_last_response: float | None = None


class SessionEnd(HookInput):
    event_name = "SessionEnd"
    reason: str | None = None


class Setup(HookInput):
    event_name = "Setup"
    trigger: str | None = None


class InstructionsLoaded(HookInput):
    event_name = "InstructionsLoaded"
    file_path: str | None = None
    memory_type: str | None = None
    load_reason: str | None = None


class UserPromptSubmit(HookInput):
    event_name = "UserPromptSubmit"
    prompt: str = ""


class UserPromptExpansion(HookInput):
    event_name = "UserPromptExpansion"
    expansion_type: str | None = None
    command_name: str | None = None
    command_args: str | None = None
    command_source: str | None = None
    prompt: str | None = None


class MessageDisplay(HookInput):
    event_name = "MessageDisplay"
    turn_id: str | None = None
    message_id: str | None = None
    index: int | None = None
    final: bool | None = None
    delta: str | None = None


class PreToolUse(_ToolEvent):
    event_name = "PreToolUse"
    tool_use_id: str


class PostToolUse(_ToolEvent):
    event_name = "PostToolUse"
    tool_use_id: str
    tool_response: Any = None
    duration_ms: float | None = None


class PostToolUseFailure(_ToolEvent):
    event_name = "PostToolUseFailure"
    tool_use_id: str
    error: str = ""
    is_interrupt: bool | None = None
    duration_ms: float | None = None


class PermissionRequest(_ToolEvent):
    event_name = "PermissionRequest"
    permission_suggestions: Any = None


class PermissionDenied(_ToolEvent):
    event_name = "PermissionDenied"
    tool_use_id: str
    reason: str | None = None


class PostToolBatch(HookInput):
    event_name = "PostToolBatch"
    tool_calls: list[dict[str, Any]] = []


class Notification(HookInput):
    event_name = "Notification"
    message: str | None = None
    title: str | None = None
    notification_type: str | None = None


class SubagentStart(HookInput):
    event_name = "SubagentStart"


class SubagentStop(HookInput):
    event_name = "SubagentStop"
    stop_hook_active: bool | None = None
    agent_transcript_path: str | None = None
    last_assistant_message: str | None = None
    background_tasks: list[Any] = []


class Stop(HookInput):
    event_name = "Stop"
    stop_hook_active: bool | None = None
    last_assistant_message: str | None = None
    background_tasks: list[Any] = []


class StopFailure(HookInput):
    event_name = "StopFailure"
    error: str | None = None
    error_details: str | None = None
    last_assistant_message: str | None = None


class ConfigChange(HookInput):
    event_name = "ConfigChange"
    source: str | None = None
    file_path: str | None = None


class CwdChanged(HookInput):
    event_name = "CwdChanged"
    old_cwd: str | None = None
    new_cwd: str | None = None


class DirectoryAdded(HookInput):
    event_name = "DirectoryAdded"
    directory: str | None = None
    source: str | None = None


class PreCompact(HookInput):
    event_name = "PreCompact"
    trigger: str | None = None
    custom_instructions: str | None = None


class PostCompact(HookInput):
    event_name = "PostCompact"
    trigger: str | None = None
    compact_summary: str | None = None


class _ModelSwitch(HookInput):
    from_model: str | None = None
    to_model: str | None = None
    requested_model: str | None = None
    source: str | None = None


class PreModelSwitch(_ModelSwitch):
    event_name = "PreModelSwitch"


class PostModelSwitch(_ModelSwitch):
    event_name = "PostModelSwitch"


MODELS: dict[str, type[HookInput]] = {
    cls.event_name: cls
    for cls in (
        SessionStart, SessionEnd, Setup, InstructionsLoaded, UserPromptSubmit, UserPromptExpansion,
        MessageDisplay, PreToolUse, PostToolUse, PostToolUseFailure, PermissionRequest, PermissionDenied,
        PostToolBatch, Notification, SubagentStart, SubagentStop, Stop, StopFailure, ConfigChange, CwdChanged,
        DirectoryAdded, PreCompact, PostCompact, PreModelSwitch, PostModelSwitch,
    )
}  # fmt: skip


def parse_hook_input(data: object) -> HookInput:
    """The model for `data`'s event (the base model for an unknown event); InvalidHookInput if unusable."""
    if not isinstance(data, dict):
        raise InvalidHookInput(f"HookInput is a JSON {type(data).__name__}, not an object")
    event = data.get("hook_event_name")
    model = MODELS.get(event, HookInput) if isinstance(event, str) else HookInput
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise InvalidHookInput(f"{event or 'unknown event'}: {problems}") from None
