"""One scenario run with otel-claude installed: install into the sandbox HOME, run the CLI, collect what was exported.

Beside otel-claude's hook, a recording hook is registered for the same events. Claude Code runs the hooks of an
event in parallel, so its records are the ground truth the exported spans are compared with: which tool calls
happened, how they ended, and when each hook fired.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from support.otlp_receiver import OtlpReceiver, free_port, span_attributes
from support.processes import metric_value, scrape, stop_agent

from otel_claude import semconv as sc

from .harness import ClaudeResult, Sandbox, read_hook_records

SPAN_WAIT_S = 30.0
METRIC_WAIT_S = 15.0


@dataclass
class ToolCall:
    """A tool call as the recording hook saw it."""

    tool_use_id: str
    name: str
    session_id: str
    agent_id: str | None
    started: float  # receive time of PreToolUse, epoch seconds
    ended: float | None  # receive time of PostToolUse/PostToolUseFailure; None when it never ran
    outcome: str
    duration_ms: float | None


@dataclass
class OtelRun:
    sandbox: Sandbox
    receiver: OtlpReceiver
    prometheus_url: str
    state_dir: str
    install_output: str
    installed_events: list[str] = field(default_factory=list)  # what otel-claude install registered
    results: list[ClaudeResult] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    prometheus_text: str = ""

    def spans(self) -> list[Span]:
        return self.receiver.spans()

    def spans_of_type(self, span_type: str) -> list[Span]:
        return [s for s in self.spans() if span_attributes(s).get(sc.CC_SPAN_TYPE) == span_type]

    def tool_spans(self) -> dict[str, Span]:
        return {str(span_attributes(s)[sc.GEN_AI_TOOL_CALL_ID]): s for s in self.spans_of_type(sc.SPAN_TYPE_TOOL)}

    def by_id(self) -> dict[bytes, Span]:
        return {s.span_id: s for s in self.spans()}

    def events(self, name: str) -> list[dict[str, Any]]:
        return [h["payload"] for h in self.hooks if h["event"] == name]

    def tool_calls(self) -> dict[str, ToolCall]:
        return tool_calls_from_hooks(self.hooks)

    def transcript_exchanges(self) -> list[Any]:
        """Model responses that Claude Code writes into a transcript (the compaction summary is not one)."""
        return [e for e in self.sandbox.api.model_exchanges() if e.kind != "compact"]

    def prometheus(self, name: str, **labels: str) -> float:
        return metric_value(self.prometheus_text, name, **labels)


def _ts(record: dict[str, Any]) -> float:
    return datetime.datetime.fromisoformat(record["ts"]).timestamp()


def tool_calls_from_hooks(hooks: list[dict[str, Any]]) -> dict[str, ToolCall]:
    calls: dict[str, ToolCall] = {}
    for record in hooks:
        payload, event = record["payload"], record["event"]
        if event == "PreToolUse":
            calls[payload["tool_use_id"]] = ToolCall(
                payload["tool_use_id"],
                payload["tool_name"],
                payload["session_id"],
                payload.get("agent_id"),
                _ts(record),
                None,
                sc.OUTCOME_PERMISSION_DENIED,
                None,
            )  # no end event: the call never ran
        elif event in ("PostToolUse", "PostToolUseFailure") and payload.get("tool_use_id") in calls:
            call = calls[payload["tool_use_id"]]
            call.ended, call.duration_ms = _ts(record), payload.get("duration_ms")
            failed = event == "PostToolUseFailure"
            call.outcome = (
                (sc.OUTCOME_INTERRUPTED if payload.get("is_interrupt") else sc.OUTCOME_ERROR)
                if failed
                else sc.OUTCOME_SUCCESS
            )
    return calls


def prometheus_name(metric: str, unit_suffix: str = "", counter: bool = True) -> str:
    """How Prometheus stores an SDK metric name: dots to underscores, the unit, then `_total` for counters."""
    return metric.replace(".", "_") + unit_suffix + ("_total" if counter else "")


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def install_otel_claude(
    sandbox: Sandbox, endpoint: str, prometheus_port: int, hook: str = "auto"
) -> subprocess.CompletedProcess[str]:
    """`otel-claude install` into the sandbox's HOME, exporting to `endpoint`, serving Prometheus on the port."""
    argv = [sys.executable, "-m", "otel_claude", "install", "--endpoint", endpoint, "--hook", hook]
    return subprocess.run(
        [*argv, "--prometheus-port", str(prometheus_port)],
        env=sandbox.env(),
        cwd=sandbox.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_with_otel_claude(
    sandbox: Sandbox,
    extra_config: dict[str, str] | None = None,
    record_events: list[str] | None = None,
    drive: Callable[[Sandbox, Path], list[ClaudeResult]] | None = None,
) -> OtelRun:
    """Install otel-claude into the sandbox, run the scenario, wait for the export; the agent is stopped after.

    The recording hook listens to the events otel-claude registered, or to `record_events`. `drive(sandbox,
    record)` runs the CLI instead of the scenario's print-mode runs (e.g. an interactive session in tmux).
    """
    receiver = OtlpReceiver().start()
    port = free_port()
    env = sandbox.env()
    install = install_otel_claude(sandbox, receiver.endpoint, port)
    state_dir = str(sandbox.home / ".local" / "state" / "otel-claude")  # the default under HOME
    run = OtelRun(sandbox, receiver, f"http://127.0.0.1:{port}/metrics", state_dir, install.stdout + install.stderr)
    if install.returncode != 0:
        receiver.stop()
        raise AssertionError(f"otel-claude install failed: {run.install_output}")
    # Export metrics every second instead of every ten: the test waits for them. KEY=VALUE lines, as install writes.
    config = sandbox.home / ".config" / "otel-claude" / "otel-claude.env"
    lines = {"OTEL_METRIC_EXPORT_INTERVAL": "1000", **(extra_config or {})}
    with config.open("a", encoding="utf-8") as handle:
        handle.writelines(f"{key}={value}\n" for key, value in lines.items())
    run.installed_events = list(sandbox.read_settings().get("hooks", {}))
    record = sandbox.root / "hooks.jsonl"
    sandbox.add_recording_hook(record_events or run.installed_events, record)
    try:
        run.results = drive(sandbox, record) if drive is not None else sandbox.run_scenario()
        run.hooks = read_hook_records(record)
        _wait_for_export(run)
    finally:
        stop_agent(state_dir, env)  # flushes what is left; no agent outlives its test
    return run


def _wait_for_export(run: OtelRun) -> None:
    """Poll (with deadlines) until the spans and metrics of the run are out, or the time is up."""
    calls = run.tool_calls()
    prompts = len({h["payload"]["prompt_id"] for h in run.hooks if h["payload"].get("prompt_id")})  # a turn each
    chats = len(run.transcript_exchanges())

    def spans_complete() -> bool:
        return (
            set(calls) <= set(run.tool_spans())
            and len(run.spans_of_type(sc.SPAN_TYPE_TURN)) >= prompts
            and len(run.spans_of_type(sc.SPAN_TYPE_LLM)) >= chats
        )

    _wait(spans_complete, SPAN_WAIT_S)
    output_tokens = sum(e.response["usage"]["output_tokens"] for e in run.sandbox.api.model_exchanges())
    tool_calls = prometheus_name(sc.METRIC_TOOL_CALLS)
    tokens = prometheus_name(sc.METRIC_TOKENS)
    hook_events = prometheus_name(sc.METRIC_HOOK_EVENTS)

    def metrics_complete() -> bool:
        try:
            run.prometheus_text = scrape(run.prometheus_url)
        except OSError:
            return False
        seen = sum(1 for h in run.hooks if h["event"] in run.installed_events)
        return (
            run.prometheus(hook_events) >= seen  # every event otel-claude's hook got is counted
            and run.prometheus(tool_calls) == len(calls)
            and run.prometheus(tokens, claude_code_token_kind=sc.TOKEN_KIND_OUTPUT) == output_tokens
        )

    _wait(metrics_complete, METRIC_WAIT_S)


def otlp_metric_total(receiver: OtlpReceiver, name: str, **attributes: str) -> float:
    """The total of a sum metric received over OTLP, over the streams matching `attributes`.

    Cumulative streams count with their latest point, delta streams with the sum of their points.
    """
    latest: dict[tuple[tuple[str, Any], ...], float] = {}
    for request in list(receiver.metric_requests):
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name != name or metric.WhichOneof("data") != "sum":
                        continue
                    delta = metric.sum.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
                    for point in metric.sum.data_points:
                        attrs = {kv.key: kv.value.string_value or kv.value.int_value for kv in point.attributes}
                        if all(attrs.get(k) == v for k, v in attributes.items()):
                            value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                            key = tuple(sorted(attrs.items()))
                            latest[key] = (latest.get(key, 0.0) if delta else 0.0) + float(value)
    return sum(latest.values())
