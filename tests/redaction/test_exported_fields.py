"""What the agent exports in each capture mode, field by field, against the table in docs/redaction.md.

Every fixture session and every fixture event type is driven through the event processor (with the transcript
reader, so LLM-call spans are there too), once with content capture off and once on. Free text is planted in
every free-text field of every payload (a customer's name and address, a diagnosis, a password); names are made
hostile in a second run. Then every span name, attribute, event, link, status description and metric label
that came out is checked.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, RECORDED_PROJECTS_DIR, SESSION_NAMES, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.driving import feed, make_processor

from otel_claude import semconv as sc
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.live import error_classes
from otel_claude.live.span_factory import ProcessorSettings
from otel_claude.live.state import AgentState
from otel_claude.live.usage import TranscriptUsage
from otel_claude.redaction import RedactingSpanProcessor
from otel_claude.transcripts.prices import load_table
from otel_claude.transcripts.usage_metrics import UsageMetrics

DOC = Path(__file__).parents[2] / "docs" / "redaction.md"
PRIVATE = "Ada Quill, 12 Larch Row, Leeds: diagnosed with asthma; the password is Hunter2Orbit7"
PRIVATE_WORDS = ("Ada Quill", "Larch Row", "asthma", "Hunter2Orbit")

# Top-level payload fields that are ids, paths or names; every other string anywhere in a payload is free text.
NAME_FIELDS = frozenset(
    {
        "session_id",
        "hook_event_name",
        "transcript_path",
        "agent_transcript_path",
        "cwd",
        "prompt_id",
        "permission_mode",
        "effort",
        "agent_id",
        "agent_type",
        "tool_name",
        "tool_use_id",
        "source",
        "model",
        "trigger",
        "notification_type",
        "load_reason",
        "memory_type",
        "expansion_type",
        "command_source",
        "turn_id",
        "message_id",
        "from_model",
        "to_model",
        "requested_model",
        "index",
        "final",
        "duration_ms",
        "is_interrupt",
        "stop_hook_active",
        "old_cwd",
        "new_cwd",
        "directory",
        "file_path",
    }
)
# Fields that are enums in one event and free text in another.
ENUM_IN = {"reason": {"SessionEnd"}, "error": {"StopFailure"}}
HOSTILE_NAMES = {
    "tool_name": "mcp__acme crm__lookup Ada Quill",
    "agent_type": "reviewer for Ada Quill",
    "notification_type": "asthma reminder",
    "model": "claude-opus-4-5 Ada Quill",
    "source": "startup Larch Row",
    "trigger": "manual asthma",
}


def _plant(value: Any) -> Any:
    if isinstance(value, str):
        return f"{value}\n{PRIVATE}"  # appended: the class of an error ("Exit code 3") must stay readable
    if isinstance(value, dict):
        return {k: _plant(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plant(v) for v in value]
    return value


def plant_free_text(payload: dict[str, Any]) -> dict[str, Any]:
    event = payload.get("hook_event_name")
    out: dict[str, Any] = {}
    for key, value in payload.items():
        keep = key in NAME_FIELDS or event in ENUM_IN.get(key, ())
        out[key] = value if keep else _plant(value)
    if event == "PostToolUseFailure":
        out.setdefault("error", PRIVATE)
    return out


def hostile_names(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: HOSTILE_NAMES.get(k, v) if isinstance(v, str) else v for k, v in payload.items()}


def _entries() -> Iterator[dict[str, Any]]:
    """Every recorded session, then every single-event fixture (all 25 event types), transcripts re-rooted."""
    for name in SESSION_NAMES:
        yield from load_session(name)
    for path in sorted((FIXTURES / "hooks").glob("*.json")):
        for payload in json.loads(path.read_text(encoding="utf-8")):
            yield {"ts": "2026-01-01T00:00:00.000Z", "payload": payload}


def _reroot(value: Any, projects: Path) -> Any:
    if isinstance(value, str):
        return value.replace(RECORDED_PROJECTS_DIR, str(projects))
    if isinstance(value, dict):
        return {k: _reroot(v, projects) for k, v in value.items()}
    return value


@dataclass
class Exported:
    spans: list[ReadableSpan]
    labels: dict[str, set[str]] = field(default_factory=dict)  # label key -> values seen

    def attribute_keys(self) -> set[str]:
        keys: set[str] = set()
        for span in self.spans:
            keys.update(span.attributes or {})
            for event in span.events:
                keys.update(event.attributes or {})
        return keys

    def strings(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every string that leaves: names, attribute values, statuses, labels."""
        for span in self.spans:
            yield "span name", span.name
            if span.status.description:
                yield "status", span.status.description
            for key, value in _attribute_strings(span.attributes):
                yield key, value
            for event in span.events:
                yield "event name", event.name
                yield from _attribute_strings(event.attributes)
            for link in span.links:
                yield from _attribute_strings(link.attributes)
        for key, values in self.labels.items():
            for value in values:
                yield f"label {key}", value


def _attribute_strings(attributes: Any) -> Iterator[tuple[str, str]]:
    for key, value in (attributes or {}).items():
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, str):
                yield key, item


def drive(tmp_path: Path, *, capture: bool, mutate: Any = None) -> Exported:
    projects = tmp_path / "projects"
    if not projects.exists():
        for name in SESSION_NAMES:
            shutil.copytree(FIXTURES / "sessions" / name / "transcripts", projects, dirs_exist_ok=True)
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(exporter)))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    state = AgentState()
    usage = TranscriptUsage(state, UsageMetrics(meter_provider.get_meter("t")), load_table(environ={}), 0.0)
    settings = ProcessorSettings(capture_content=capture, user_name="dev")
    processor = make_processor(tracer_provider, meter_provider, settings, usage)
    processor.state = state
    entries = []
    for entry in _entries():
        payload = _reroot(entry["payload"], projects)
        entries.append({**entry, "payload": mutate(payload) if mutate else payload})
    feed(processor, entries)
    processor.close_idle(0.0)  # the fixture sessions are in the past: every one still open is closed
    usage.run_due(processor.ctx)
    labels: dict[str, set[str]] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    for key, value in (point.attributes or {}).items():
                        labels.setdefault(key, set()).add(str(value))
    spans = list(exporter.get_finished_spans())
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return Exported(spans, labels)


@dataclass(frozen=True)
class Row:
    name: str
    off: str
    on: str


def doc_table(heading: str) -> dict[str, Row]:
    """The rows of the table under `### heading` in docs/redaction.md: name -> (capture off, capture on)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows: dict[str, Row] = {}
    for line in section.splitlines():
        m = re.match(r"\| `([^`]+)` \|(?: [^|]* \|)? (yes|no) \| (yes|redacted) \|$", line)
        if m is not None:
            rows[m.group(1)] = Row(m.group(1), m.group(2), m.group(3))
    assert rows, f"no table under {heading}"
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    tmp = tmp_path_factory.mktemp("exported")
    return {
        "off": drive(tmp, capture=False, mutate=plant_free_text),
        "on": drive(tmp, capture=True, mutate=plant_free_text),
        "hostile": drive(tmp, capture=False, mutate=hostile_names),
        "plain_off": drive(tmp, capture=False),
        "plain_on": drive(tmp, capture=True),
    }


def test_every_event_type_and_span_type_was_driven(runs: dict[str, Exported]) -> None:
    spans = runs["off"].spans
    types = {(s.attributes or {}).get(sc.CC_SPAN_TYPE) for s in spans}
    assert types >= {"session", "turn", "tool", "subagent", "llm", "compaction"}
    events = {e.name for s in spans for e in s.events}
    assert {"Notification", "PostToolBatch", "InstructionsLoaded", "ConfigChange", "MessageDisplay"} <= events
    outcomes = {(s.attributes or {}).get(sc.CC_TOOL_OUTCOME) for s in spans}
    assert {"success", "error", "permission_denied"} <= outcomes
    assert any((s.attributes or {}).get(sc.CC_STOP_ERROR) for s in spans), "no StopFailure was driven"


def test_capture_off_exports_no_free_text(runs: dict[str, Exported]) -> None:
    leaks = [
        f"{where}: {text[:120]!r}"
        for where, text in runs["off"].strings()
        if any(word in text for word in PRIVATE_WORDS)
    ]
    assert not leaks, "free text left with capture off:\n" + "\n".join(leaks[:20])


def test_capture_on_exports_the_content_redacted(runs: dict[str, Exported]) -> None:
    # The same planted text does go out with capture on (so the test above can fail), minus the password.
    texts = [text for _, text in runs["on"].strings()]
    assert any("Ada Quill" in text for text in texts)
    assert not any("Hunter2Orbit" in text for text in texts)


def test_failures_export_classes_sizes_and_codes_only(runs: dict[str, Exported]) -> None:
    spans = runs["off"].spans
    failed = [s for s in spans if (s.attributes or {}).get(sc.CC_TOOL_OUTCOME) == sc.OUTCOME_ERROR]
    assert failed
    phrases = set(error_classes._TOOL_ERROR_PHRASES.values())
    for span in failed:
        attributes = span.attributes or {}
        assert attributes[sc.ERROR_TYPE] in error_classes.TOOL_ERROR_TYPES
        assert isinstance(attributes[sc.CC_TOOL_ERROR_SIZE], int) and attributes[sc.CC_TOOL_ERROR_SIZE] > 0
        assert span.status.description in phrases
    bash = [s for s in failed if s.name == "execute_tool Bash"]
    assert bash and all((s.attributes or {}).get(sc.PROCESS_EXIT_CODE) == 3 for s in bash)
    denied = [
        s
        for s in spans
        if (s.attributes or {}).get(sc.CC_TOOL_OUTCOME) == sc.OUTCOME_PERMISSION_DENIED
        and sc.CC_PERMISSION_DENIED_CATEGORY in (s.attributes or {})
    ]
    assert denied and {(s.attributes or {})[sc.CC_PERMISSION_DENIED_CATEGORY] for s in denied} <= set(
        error_classes.DENIAL_CATEGORIES
    )
    (stop,) = [s for s in spans if (s.attributes or {}).get(sc.CC_STOP_ERROR)][:1]
    attributes = stop.attributes or {}
    assert attributes[sc.CC_STOP_ERROR] == "invalid_request"
    assert attributes[sc.CC_STOP_API_ERROR_TYPE] == "invalid_request_error"
    assert attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 400
    assert stop.status.description == "turn failed: invalid request"


@pytest.mark.parametrize("mode", ["off", "on"])
def test_span_attributes_match_the_documented_table(runs: dict[str, Exported], mode: str) -> None:
    table = doc_table("Span attributes")
    emitted = runs[mode].attribute_keys() | runs[f"plain_{mode}"].attribute_keys()
    emitted |= runs["hostile"].attribute_keys() if mode == "off" else set()
    undocumented = emitted - set(table)
    assert not undocumented, f"emitted with capture {mode} but not in docs/redaction.md: {sorted(undocumented)}"
    column = {name: (row.off if mode == "off" else row.on) for name, row in table.items()}
    wrongly = sorted(name for name in emitted if column[name] == "no")
    assert not wrongly, f"documented as not exported with capture {mode}, but emitted: {wrongly}"
    # Every row is reached by the fixtures in a mode it claims, but the scrubber's own keys (only when it fired),
    # Claude Code's cost-state figure and the inference region, which the 2.1.330 fixture transcripts lack.
    unreached = (sc.CC_REDACTED_KEYS, sc.CC_REDACTED_PATTERNS, sc.CC_REPORTED_COST_USD, sc.CC_INFERENCE_GEO)
    never = sorted(
        name for name, value in column.items() if value != "no" and name not in emitted and name not in unreached
    )
    assert not never, f"documented as exported with capture {mode}, never emitted: {never}"


def test_metric_labels_match_the_documented_table(runs: dict[str, Exported]) -> None:
    table = doc_table("Metric labels")
    for mode in ("off", "on"):
        assert set(runs[mode].labels) == set(table), mode


_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._:@+\[\]/ -]{0,99}")


def test_hostile_names_are_bounded_and_agree_with_span_names(runs: dict[str, Exported]) -> None:
    exported = runs["hostile"]
    leaks = [
        f"{where}: {text[:120]!r}"
        for where, text in exported.strings()
        if any(word in text for word in ("Ada Quill", "Larch Row", "asthma"))
    ]
    assert not leaks, "hostile names left as they were:\n" + "\n".join(leaks[:20])
    for span in exported.spans:
        attributes = span.attributes or {}
        operation, _, rest = span.name.partition(" ")
        key = {"execute_tool": sc.GEN_AI_TOOL_NAME, "invoke_agent": sc.GEN_AI_AGENT_NAME}.get(operation)
        if key is not None and key in attributes:
            assert rest == attributes[key], f"span name {span.name!r} disagrees with {key}={attributes[key]!r}"
    assert "mcp__other__other" in exported.labels[sc.GEN_AI_TOOL_NAME]
    for key, values in exported.labels.items():
        assert all(_NAME.fullmatch(v) for v in values), (key, values)


def test_mcp_tool_names_keep_identifier_parts() -> None:
    from otel_claude.redaction.names import bounded_tool_name

    assert bounded_tool_name("mcp__github__create_issue") == "mcp__github__create_issue"
    assert bounded_tool_name("mcp__github__ghp_" + "aB3dE5" * 6) == "mcp__github__other"
    assert bounded_tool_name("mcp__my server__q") == "mcp__other__q"


def test_a_failed_api_calls_error_type_leaves_only_in_a_bounded_form() -> None:
    from otel_claude.live import error_classes

    assert error_classes.api_error_type("overloaded_error") == "overloaded_error"
    assert error_classes.api_error_type("Jane Doe's diagnosis: see /home/jane") == error_classes.OTHER
    assert error_classes.api_error_type(None) is None
