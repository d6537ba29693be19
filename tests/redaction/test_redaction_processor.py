"""RedactingSpanProcessor in a real SDK pipeline: TracerProvider -> redactor -> SimpleSpanProcessor -> memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from otel_claude import semconv as sc
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.redaction import RedactingSpanProcessor, Scrubber

GITHUB = "ghp_1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU"
AWS = "AKIAQ3EGRSZM4XWPTB7N"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
TOOL_CALL_ID = "toolu_019aece0a97c49305cc5975b"
SESSION = "c77f9869-7342-4145-9251-6b7551d2e158"


class _Pipeline:
    def __init__(self, scrubber: Scrubber | None = None, limits: SpanLimits | None = None) -> None:
        self.exporter = InMemorySpanExporter()
        self.redactor = RedactingSpanProcessor(SimpleSpanProcessor(self.exporter), scrubber)
        self.provider = TracerProvider(id_generator=DeterministicIdGenerator(), span_limits=limits)
        self.provider.add_span_processor(self.redactor)
        self.tracer = self.provider.get_tracer("test")

    def exported(self) -> ReadableSpan:
        (span,) = self.exporter.get_finished_spans()
        return span


@pytest.fixture
def pipeline() -> Iterator[_Pipeline]:
    p = _Pipeline()
    yield p
    p.provider.shutdown()


def _secret_span(pipeline: _Pipeline) -> ReadableSpan:
    other = pipeline.tracer.start_span("other")
    other.end()
    span = pipeline.tracer.start_span(
        f"execute_tool Bash {GITHUB}",
        attributes={
            sc.SESSION_ID: SESSION,
            sc.GEN_AI_TOOL_CALL_ID: TOOL_CALL_ID,
            sc.GEN_AI_USAGE_INPUT_TOKENS: 2496,
            sc.CC_TOOL_SUMMARY: f"export GITHUB_TOKEN={GITHUB}",
            sc.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps({"command": "psql", "password": "hunter2", "n": 3}),
            "claude_code.test.list": ["plain", f"aws={AWS}"],
        },
        links=[Link(other.get_span_context(), {"why": f"token {JWT}"})],
    )
    span.add_event("PostToolUse", {"claude_code.tool.error": f"401 for key {AWS}", sc.CC_HOOK_EVENT: "PostToolUse"})
    span.set_status(Status(StatusCode.ERROR, f"auth failed with Bearer {JWT}"))
    span.end()
    return cast(ReadableSpan, span)


def _exported_tool_span(pipeline: _Pipeline) -> ReadableSpan:
    return next(s for s in pipeline.exporter.get_finished_spans() if s.name != "other")


def test_span_attributes_events_links_status_and_name_are_scrubbed(pipeline: _Pipeline) -> None:
    _secret_span(pipeline)
    span = _exported_tool_span(pipeline)
    attrs: dict[str, Any] = dict(span.attributes or {})
    # Names are bounded, not scrubbed as text: the span name and the attribute say the same `other`.
    assert span.name == "execute_tool other"
    assert attrs[sc.CC_TOOL_SUMMARY] == "other"
    assert json.loads(attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "command": "psql",
        "password": "[REDACTED:sensitive_key]",
        "n": 3,
    }
    assert attrs["claude_code.test.list"] == ("plain", "aws=[REDACTED:aws_access_key_id]")
    assert attrs[sc.SESSION_ID] == SESSION and attrs[sc.GEN_AI_TOOL_CALL_ID] == TOOL_CALL_ID
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2496
    (event,) = span.events
    assert dict(event.attributes or {}) == {
        "claude_code.tool.error": "401 for key [REDACTED:aws_access_key_id]",
        sc.CC_HOOK_EVENT: "PostToolUse",
    }
    (link,) = span.links
    assert dict(link.attributes or {}) == {"why": "token [REDACTED:jwt]"}
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "auth failed with Bearer [REDACTED:jwt]"
    assert set(attrs[sc.CC_REDACTED_KEYS]) == {
        sc.CC_TOOL_SUMMARY,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        "claude_code.test.list",
        "events.PostToolUse.claude_code.tool.error",
        "links.0.why",
        "status.description",
        "span.name",
    }
    assert set(attrs[sc.CC_REDACTED_PATTERNS]) == {"unsafe_name", "sensitive_key", "aws_access_key_id", "jwt"}


def test_nothing_secret_leaves_the_wire(pipeline: _Pipeline) -> None:
    _secret_span(pipeline)
    wire = encode_spans(pipeline.exporter.get_finished_spans()).SerializeToString()
    for secret in (GITHUB, AWS, JWT, b"hunter2"):
        assert (secret if isinstance(secret, bytes) else secret.encode()) not in wire
    assert TOOL_CALL_ID.encode() in wire and SESSION.encode() in wire


def test_the_original_span_is_untouched(pipeline: _Pipeline) -> None:
    original = _secret_span(pipeline)
    exported = _exported_tool_span(pipeline)
    assert exported is not original
    assert GITHUB in original.name
    assert original.attributes is not None and GITHUB in str(original.attributes[sc.CC_TOOL_SUMMARY])
    assert sc.CC_REDACTED_KEYS not in original.attributes
    assert AWS in str(original.events[0].attributes)
    assert original.status.description is not None and JWT in original.status.description
    assert exported.context == original.context and exported.parent == original.parent
    assert (exported.start_time, exported.end_time) == (original.start_time, original.end_time)
    assert exported.resource is original.resource and exported.kind == original.kind
    assert exported.instrumentation_scope == original.instrumentation_scope


def test_a_span_with_nothing_secret_passes_unchanged(pipeline: _Pipeline) -> None:
    attributes: dict[str, Any] = {
        sc.SESSION_ID: SESSION,
        sc.GEN_AI_TOOL_CALL_ID: TOOL_CALL_ID,
        sc.CC_CWD: "/home/dev/project",
        sc.CC_TOOL_SUMMARY: "git",
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 61,
        "claude_code.test.list": ["a", "b"],
    }
    with pipeline.tracer.start_as_current_span("execute_tool Bash", attributes=attributes) as span:
        span.add_event("PreToolUse", {sc.CC_HOOK_EVENT: "PreToolUse"})
    exported = pipeline.exported()
    assert dict(exported.attributes or {}) == {**attributes, "claude_code.test.list": ("a", "b")}
    events = [(e.name, dict(e.attributes or {})) for e in exported.events]
    assert events == [("PreToolUse", {sc.CC_HOOK_EVENT: "PreToolUse"})]
    assert pipeline.redactor.scrub_span(exported) is exported  # no copy at all


def test_dropped_counts_survive_the_copy() -> None:
    pipeline = _Pipeline(limits=SpanLimits(max_attributes=3, max_events=1))
    live = pipeline.tracer.start_span("s", attributes={"a": 1, "b": 2, "c": f"key {GITHUB}", "d": 4, "e": 5})
    live.add_event("one")
    live.add_event("two", {"x": GITHUB})
    live.end()
    span = cast(ReadableSpan, live)
    exported = pipeline.exported()
    assert exported is not span
    assert exported.dropped_attributes == span.dropped_attributes == 2
    assert exported.dropped_events == span.dropped_events == 1
    assert GITHUB not in str(exported.attributes) + str([e.attributes for e in exported.events])
    pipeline.provider.shutdown()


class _FailsOn(Scrubber):
    """Raises while scrubbing one attribute value."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison

    def scrub_value(self, value: Any) -> Any:
        if value == self.poison:
            raise RuntimeError("boom")
        return super().scrub_value(value)


def test_an_attribute_that_cannot_be_scrubbed_is_dropped_not_leaked() -> None:
    poison = f"secret {GITHUB}"
    pipeline = _Pipeline(scrubber=_FailsOn(poison))
    pipeline.tracer.start_span("s", attributes={"bad": poison, "good": f"aws {AWS}", "n": 1}).end()
    attrs: dict[str, Any] = dict(pipeline.exported().attributes or {})
    assert "bad" not in attrs
    assert attrs["good"] == "aws [REDACTED:aws_access_key_id]" and attrs["n"] == 1
    assert set(attrs[sc.CC_REDACTED_KEYS]) == {"bad", "good"}
    assert "scrub_failed" in attrs[sc.CC_REDACTED_PATTERNS]
    pipeline.provider.shutdown()


class _Broken(Scrubber):
    def scrub_attributes(self, attributes: Any) -> Any:
        raise RuntimeError("everything fails")


def test_when_scrubbing_fails_entirely_the_span_goes_out_stripped() -> None:
    pipeline = _Pipeline(scrubber=_Broken())
    span = pipeline.tracer.start_span(f"name {GITHUB}", attributes={"a": GITHUB})
    span.add_event("e", {"b": GITHUB})
    span.end()  # must not raise
    exported = pipeline.exported()
    assert GITHUB not in exported.name and not exported.events
    assert dict(exported.attributes or {}) == {sc.CC_REDACTED_KEYS: ("*",), sc.CC_REDACTED_PATTERNS: ("scrub_failed",)}
    assert exported.context == span.get_span_context()
    pipeline.provider.shutdown()


class _Recorder(SpanProcessor):
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.calls.append("on_start")
        if self.fail:
            raise RuntimeError("on_start")

    def on_end(self, span: ReadableSpan) -> None:
        self.calls.append("on_end")
        if self.fail:
            raise RuntimeError("on_end")

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.calls.append(f"force_flush {timeout_millis}")
        return True


def test_errors_of_the_next_processor_do_not_propagate_and_calls_are_forwarded() -> None:
    recorder = _Recorder(fail=True)
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(recorder))
    provider.get_tracer("t").start_span("s", attributes={"k": GITHUB}).end()  # must not raise
    assert provider.force_flush(1234)
    provider.shutdown()
    assert [call.split()[0] for call in recorder.calls] == ["on_start", "on_end", "force_flush", "shutdown"]
    assert 0 < int(recorder.calls[2].split()[1]) <= 1234  # the provider passes on what is left of the timeout


def test_event_names_are_bounded_like_names(pipeline: _Pipeline) -> None:
    with pipeline.tracer.start_as_current_span("invoke_agent claude-code") as span:
        span.add_event("Notification", {sc.CC_HOOK_EVENT: "Notification"})
        span.add_event("Reminder for Ada Quill, 12 Larch Row", {sc.CC_HOOK_EVENT: "Reminder for Ada Quill"})
    exported = pipeline.exported()
    assert [event.name for event in exported.events] == ["Notification", "other"]
    assert [dict(event.attributes or {})[sc.CC_HOOK_EVENT] for event in exported.events] == ["Notification", "other"]
