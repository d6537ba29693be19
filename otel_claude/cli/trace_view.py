"""`otel-claude trace`: the last turns the agent finished, as trace trees in the terminal.

Reads the agent's bounded file of recent finished spans (export/recent_spans.py): the same spans, redacted the
same way, as Tempo would hold. One tree per turn: its tool calls with outcome and execution time, subagents
nested under the Agent call that started them, LLM calls with tokens and cost.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence

from otel_claude import semconv as sc
from otel_claude.export.recent_spans import SpanRecord, read_recent_spans, recent_spans_path

DEFAULT_TURNS = 3


def show_trace(state_dir: str | None, turns: int = DEFAULT_TURNS, *, if_undelivered: bool = False) -> int:
    """Prints the trees; with `if_undelivered`, only when the agent's last span export failed (no OTLP endpoint
    answered), which is how scripts/run.sh shows the replayed session on a machine without the stack."""
    from otel_claude.handoff import env

    directory = state_dir or env.state_dir(env.effective_environment())
    if if_undelivered and last_export_succeeded(directory):
        return 0
    path = recent_spans_path(directory)
    if if_undelivered:
        print("No OTLP endpoint took the spans (they wait in the spool); here is what Tempo would show:\n")
    spans = read_recent_spans(path)
    if not spans:
        print(f"No finished spans yet in {path}: replay a session (otel-claude demo) or use Claude Code first.")
        return 1
    print("\n\n".join(render(spans, turns)))
    return 0


def last_export_succeeded(state_dir: str) -> bool:
    from otel_claude.agent.status import read_status

    report = read_status(state_dir) or {}
    return bool((report.get("span_export") or {}).get("ok"))


def render(spans: Sequence[SpanRecord], turns: int = DEFAULT_TURNS) -> list[str]:
    """The last `turns` traces that hold a turn (or any trace, if none does), oldest first, as text trees."""
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    traces = sorted(by_trace.values(), key=lambda group: min(s.start_ns for s in group))
    with_turns = [group for group in traces if any(_type(s) == sc.SPAN_TYPE_TURN for s in group)]
    chosen = (with_turns or traces)[-max(turns, 1) :]
    return ["\n".join(_tree(group)) for group in chosen]


def _tree(spans: list[SpanRecord]) -> Iterator[str]:
    ids = {s.span_id for s in spans}
    children: dict[str, list[SpanRecord]] = defaultdict(list)
    roots: list[SpanRecord] = []
    for span in spans:
        if span.parent_span_id and span.parent_span_id in ids:
            children[span.parent_span_id].append(span)
        else:
            roots.append(span)  # the trace's root, or a span whose parent is not in the file (any more)
    for group in children.values():
        group.sort(key=lambda s: s.start_ns)
    first = True
    for root in sorted(roots, key=lambda s: s.start_ns):
        if first:
            yield f"trace {root.trace_id}"
            first = False
        yield from _lines(root, children, "", "")


def _lines(span: SpanRecord, children: dict[str, list[SpanRecord]], lead: str, child_lead: str) -> Iterator[str]:
    yield lead + describe(span)
    kids = children.get(span.span_id, [])
    for index, kid in enumerate(kids):
        last = index == len(kids) - 1
        yield from _lines(
            kid, children, child_lead + ("└─ " if last else "├─ "), child_lead + ("   " if last else "│  ")
        )


def describe(span: SpanRecord) -> str:
    """One line: what the span is, how long it took, how it ended, and its tokens and cost."""
    a = span.attributes
    kind = _type(span)
    parts = [span.name]
    if kind == sc.SPAN_TYPE_TURN:
        when = dt.datetime.fromtimestamp(span.start_ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        parts += [f"turn at {when}", _seconds(span.duration_s), str(a.get(sc.CC_TURN_OUTCOME, ""))]
        context = [
            f"{label} {a[key]}"
            for label, key in (
                ("session", sc.SESSION_ID),
                ("project", sc.CC_PROJECT),
                ("model", sc.GEN_AI_REQUEST_MODEL),
            )
            if a.get(key)
        ]
        if context:
            parts.append("[" + ", ".join(context) + "]")
    elif kind == sc.SPAN_TYPE_TOOL:
        outcome = str(a.get(sc.CC_TOOL_OUTCOME, "?"))
        parts.append(("✓ " if outcome == sc.OUTCOME_SUCCESS else "✗ ") + outcome)
        executed = a.get(sc.CC_TOOL_DURATION_MS)
        parts.append(f"ran {_seconds(float(executed) / 1000)}" if executed is not None else "")
        parts.append(f"({_seconds(span.duration_s)} from PreToolUse to end)")
        if a.get(sc.ERROR_TYPE) and outcome != sc.OUTCOME_SUCCESS:
            parts.append(f"error.type={a[sc.ERROR_TYPE]}")
    elif kind == sc.SPAN_TYPE_LLM:
        parts.append(_seconds(span.duration_s))
        parts.append(
            f"tokens in {a.get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0)} out {a.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0)}"
            f" (cache read {a.get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0)},"
            f" write {a.get(sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0)})"
        )
        cost = a.get(sc.CC_COST_USD)
        known = a.get(sc.CC_COST_KNOWN, True)
        parts.append(f"${float(cost):.4f}" if cost is not None and known else "cost unknown (no price)")
    else:
        parts.append(_seconds(span.duration_s))
    if span.error and kind != sc.SPAN_TYPE_TOOL:
        parts.append(f"error: {span.error}")
    return "  ".join(p for p in parts if p)


def _type(span: SpanRecord) -> str:
    return str(span.attributes.get(sc.CC_SPAN_TYPE, ""))


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
