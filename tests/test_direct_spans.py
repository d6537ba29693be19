"""The agent builds its spans directly as ReadableSpans (export/direct_spans.py): they must be exactly the spans the
SDK's tracer made, after the same redaction, for every fixture session, with content capture off and on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import SESSION_NAMES, SESSIONS, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind
from support.live_usage import LiveRun, feed_fixture

from otel_claude.export.direct_spans import DirectSpans, span_sink
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.export.otlp_spans import encode_spans
from otel_claude.export.span_emitter import FinishedSpan, SpanEvent, SpanSink, tracer_sink
from otel_claude.live.span_factory import ProcessorSettings
from otel_claude.redaction.processor import RedactingSpanProcessor

SCOPE = ("otel_claude", "9.9.9")


class Path_:
    """A tracer provider whose one processor redacts, then keeps the spans in memory, as the agent's does."""

    def __init__(self, **provider: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(id_generator=DeterministicIdGenerator(), **provider)
        self.redacting: SpanProcessor = RedactingSpanProcessor(SimpleSpanProcessor(self.exporter))
        self.provider.add_span_processor(self.redacting)

    def tracer_sink(self) -> SpanSink:
        return tracer_sink(self.provider.get_tracer(*SCOPE))

    def direct_sink(self) -> SpanSink:
        return span_sink(self.provider, self.redacting, *SCOPE)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def paths() -> Iterator[tuple[Path_, Path_]]:
    sdk, direct = Path_(), Path_()
    yield sdk, direct
    sdk.provider.shutdown()
    direct.provider.shutdown()


def _fields(span: ReadableSpan) -> dict[str, Any]:
    return {
        "name": span.name,
        "context": span.context,
        "parent": span.parent,
        "start": span.start_time,
        "end": span.end_time,
        "kind": span.kind,
        "attributes": dict(span.attributes or {}),
        "dropped": (span.dropped_attributes, span.dropped_events, span.dropped_links),
        "events": [(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        "links": [(link.context, dict(link.attributes or {})) for link in span.links],
        "status": (span.status.status_code, span.status.description),
        "resource": span.resource.attributes,
        "scope": span.instrumentation_scope,
    }


def assert_same_spans(sdk: list[ReadableSpan], direct: list[ReadableSpan]) -> None:
    assert [_fields(span) for span in direct] == [_fields(span) for span in sdk]
    assert encode_spans(direct).SerializeToString(deterministic=True) == encode_spans(sdk).SerializeToString(
        deterministic=True
    )


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
@pytest.mark.parametrize("name", SESSION_NAMES)
def test_fixture_sessions_yield_the_tracers_spans(
    name: str, capture: bool, paths: tuple[Path_, Path_], meter_provider: MeterProvider
) -> None:
    sdk, direct = paths
    settings = ProcessorSettings(user_name="dev", capture_content=capture)
    for path, sink in ((sdk, sdk.tracer_sink()), (direct, direct.direct_sink())):
        feed_fixture(LiveRun(path.provider, meter_provider, spans=sink, settings=settings), SESSIONS / name,
                     load_session(name))  # fmt: skip
    assert isinstance(direct.direct_sink(), DirectSpans)
    assert sdk.spans()
    assert_same_spans(sdk.spans(), direct.spans())


def _odd_span(attributes: dict[str, Any], events: int = 1) -> FinishedSpan:
    return FinishedSpan(
        name="odd",
        trace_id=7,
        span_id=8,
        parent_span_id=9,
        start_ns=10,
        end_ns=5,  # before its start: the SDK's end is clamped to the start
        attributes=attributes,
        kind=SpanKind.CLIENT,
        error="boom token=sk-ant-api03-" + "a" * 90,
        events=tuple(SpanEvent("e", 11 + i, dict(attributes)) for i in range(events)),
        links=((1, 2),),
    )


@pytest.mark.parametrize(
    "attributes",
    [
        {"plain": "x", "n": 1, "f": 0.5, "b": True, "seq": ["a", "b"], "tup": (1, 2)},
        {"none": None, "map": {"k": "v"}, "mixed": ["a", 1], "bytes": b"x", "obj": object()},
        {"plain": "x", "n": 1, "seq": ["a", "b"], "odd_seq": ["a", None]},  # one sequence the SDK cleans
        {"plain": "x", "empty": [], "empty_tuple": (), "floats": [0.5, 1.5], "bools": (True,)},
        {f"k{i}": i for i in range(200)},  # past the SDK's attribute count limit
        {"secret": "password=hunter2hunter2", "": "empty key"},
    ],
    ids=["plain", "cleaned", "sequence-cleaned", "sequences", "over-limit", "scrubbed"],
)
def test_spans_the_sdk_would_change_are_the_sdks(attributes: dict[str, Any], paths: tuple[Path_, Path_]) -> None:
    sdk, direct = paths
    for events in (1, 200):  # 200: past the SDK's event limit
        sdk.tracer_sink()(_odd_span(attributes, events))
        direct.direct_sink()(_odd_span(attributes, events))
    assert_same_spans(sdk.spans(), direct.spans())


def test_another_sampler_or_a_disabled_sdk_keeps_the_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not isinstance(Path_(sampler=ALWAYS_ON).direct_sink(), DirectSpans)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    disabled = Path_()
    disabled.direct_sink()(_odd_span({"a": 1}))
    assert disabled.spans() == []
