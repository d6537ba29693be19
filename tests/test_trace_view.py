"""`otel-claude trace`: the real agent replays a fixture session, writes its recent finished spans, and the
command prints them as trees whose lines say what the fixture's hook events and transcripts say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import load_session
from support.otlp_receiver import OtlpReceiver
from support.processes import stop_agent

from otel_claude import semconv as sc
from otel_claude.cli.main import main
from otel_claude.cli.trace_view import render
from otel_claude.export.recent_spans import RecentSpansExporter, read_recent_spans, recent_spans_path

FIXTURE = Path(__file__).parent / "fixtures" / "claude-code-2.1.330" / "sessions" / "main"


def _otel_claude() -> list[str]:
    script = Path(sys.executable).parent / "otel-claude"
    return [str(script)] if script.exists() else [sys.executable, "-m", "otel_claude"]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("trace-view")
    receiver = OtlpReceiver().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        HOME=str(tmp / "home"),
        OTEL_CLAUDE_STATE_DIR=str(tmp / "state"),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_PROMETHEUS_PORT="0",
        OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    try:
        result = subprocess.run(
            [
                *_otel_claude(),
                "replay",
                str(FIXTURE / "hooks.jsonl"),
                "--transcripts-root",
                str(FIXTURE / "transcripts"),
                "--wait",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        _wait_for_turns(tmp / "state")
        yield tmp / "state"
    finally:
        stop_agent(str(tmp / "state"), env)
        receiver.stop()


def _wait_for_turns(state: Path, timeout_s: float = 30.0) -> None:
    """`replay --wait` returns once the spool is drained, but turn spans leave after the settle re-read of their
    transcript (1.5 s later), and the view's file is written behind a batch processor: wait for the turns of both
    runs (the prompt's and the one a compaction opens), then for the file to stop growing."""
    path = recent_spans_path(str(state))
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        spans = read_recent_spans(path) if os.path.exists(path) else []
        turns = [s for s in spans if s.attributes.get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TURN]
        if len(turns) >= 2 and len(spans) == seen:
            return
        seen = len(spans)
        time.sleep(0.5)


def test_trace_shows_the_replayed_turns_tools_subagents_and_llm_calls(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "--state-dir", str(state_dir), "--turns", "50"]) == 0
    out = capsys.readouterr().out
    entries = load_session("main")
    pre = [e["payload"] for e in entries if e["event"] == "PreToolUse"]
    tool_lines = [line for line in out.splitlines() if "execute_tool " in line]
    # One line per tool call, with its outcome.
    assert len(tool_lines) == len(pre)
    assert all(("✓ success" in line) or ("✗ " in line) for line in tool_lines)
    failures = [e["payload"] for e in entries if e["event"] == "PostToolUseFailure"]
    assert sum("✗ error" in line or "✗ interrupted" in line for line in tool_lines) == len(failures)
    # Claude Code's own execution time, where the end event carried one.
    timed = [e["payload"] for e in entries if e["event"] == "PostToolUse" and "duration_ms" in e["payload"]]
    assert sum(" ran " in line for line in tool_lines) >= len(timed) > 0
    # Turns as roots, subagents nested deeper than the Agent call that started them.
    prompts = [e for e in entries if e["event"] == "UserPromptSubmit"]
    # Each prompt's turn, plus the turn a compaction with no prompt opens.
    assert out.count(" turn at ") >= len(prompts) and out.count("  completed  [session ") >= len(prompts)
    lines = out.splitlines()
    starts = [e["payload"] for e in entries if e["event"] == "SubagentStart"]
    assert starts
    for start in starts:
        (index,) = [i for i, line in enumerate(lines) if f"invoke_agent {start['agent_type']}" in line]
        # A child of the Agent tool call that started it (beside that call's execution child): one level deeper,
        # with nothing at the call's depth or shallower between them.
        parent = max(i for i in range(index) if "execute_tool Agent" in lines[i])
        depth = lines[parent].index("execute_tool")
        assert lines[index].index("invoke_agent") > depth
        assert all(_name_column(lines[i]) > depth for i in range(parent + 1, index))
    # LLM calls read from the transcripts: tokens and cost.
    llm_lines = [line for line in out.splitlines() if "chat " in line and "tokens in " in line]
    assert llm_lines and all("$" in line or "cost unknown" in line for line in llm_lines)


def test_trace_file_matches_what_was_exported(state_dir: Path) -> None:
    """The view holds the spans Tempo got: same names and ids."""
    spans = read_recent_spans(recent_spans_path(str(state_dir)))
    assert spans and all(s.trace_id and s.span_id for s in spans)
    types = {s.attributes.get(sc.CC_SPAN_TYPE) for s in spans}
    assert {sc.SPAN_TYPE_TURN, sc.SPAN_TYPE_TOOL, sc.SPAN_TYPE_SUBAGENT, sc.SPAN_TYPE_LLM} <= types
    assert (state_dir / "recent-spans.jsonl").stat().st_mode & 0o777 == 0o600


def test_no_spans_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--state-dir", str(tmp_path)]) == 1
    assert "No finished spans yet" in capsys.readouterr().out


def test_the_file_stays_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    path = str(tmp_path / "recent-spans.jsonl")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RecentSpansExporter(path, keep=20, max_bytes=10**6)))
    tracer = provider.get_tracer("t")
    for i in range(135):
        tracer.start_span(f"span {i}", attributes={sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL}).end()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert 20 <= len(lines) <= 40
    names = [s.name for s in read_recent_spans(path)]
    assert names[-1] == "span 134" and names == sorted(names, key=lambda n: int(n.split()[1]))
    assert all(json.loads(line)["traceId"] for line in lines)  # one span per line
    # A size cap too: a few big spans never make the file exceed it by more than one write.
    big = str(tmp_path / "big.jsonl")
    provider.add_span_processor(SimpleSpanProcessor(RecentSpansExporter(big, keep=1000, max_bytes=50_000)))
    for i in range(40):
        tracer.start_span(f"big {i}", attributes={"x": "y" * 5000}).end()
    assert os.path.getsize(big) <= 50_000 + 6000
    provider.shutdown()


def test_render_nests_orphans_at_the_root() -> None:
    """A span whose parent fell out of the bounded file still shows, as a root of its trace."""
    from otel_claude.export.recent_spans import SpanRecord

    spans = [
        SpanRecord(
            "execute_tool Bash",
            "ab",
            "01",
            "ff",
            0,
            2_000_000_000,
            None,
            {sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL, sc.CC_TOOL_OUTCOME: "success"},
        )
    ]
    (tree,) = render(spans)
    assert "execute_tool Bash  ✓ success" in tree and "2.00 s" in tree


def test_run_sh_shows_the_tree_only_when_no_endpoint_took_the_spans(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scripts/run.sh ends with `otel-claude trace --if-undelivered`: silent when the export succeeded (the
    stack holds the trace), the trees when the last span export failed (no OTLP endpoint answered)."""
    assert main(["trace", "--if-undelivered", "--state-dir", str(state_dir)]) == 0
    assert capsys.readouterr().out == ""
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "recent-spans.jsonl").write_bytes((state_dir / "recent-spans.jsonl").read_bytes())
    status = json.loads((state_dir / "status.json").read_text(encoding="utf-8"))
    status["span_export"] = {**status["span_export"], "ok": False, "error": "endpoint unreachable"}
    (offline / "status.json").write_text(json.dumps(status), encoding="utf-8")
    assert main(["trace", "--if-undelivered", "--turns", "20", "--state-dir", str(offline)]) == 0
    out = capsys.readouterr().out
    assert "what Tempo would show" in out and "execute_tool Agent" in out
    script = (Path(__file__).parents[1] / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert script.rstrip().endswith("otel-claude trace --if-undelivered --turns 20")


def test_the_file_holds_the_redacted_span_the_export_gets(tmp_path: Path) -> None:
    """Leak nothing: the agent's providers feed the file after the redacting processor, like the OTLP outbox."""
    from otel_claude import config as config_module
    from otel_claude.export import providers

    config = config_module.load(
        {
            "OTEL_CLAUDE_STATE_DIR": str(tmp_path),
            "OTEL_CLAUDE_CONFIG_FILE": str(tmp_path / "x"),
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
        }
    )
    built = providers.build(config)
    secret = "sk-ant-" + "api03-Xq9vT3bLm2Kp8RwZ4nYc6HdF1gJs5AeU7iO0tQabcDEF123ghiJKL"
    span = built.tracer_provider.get_tracer("t").start_span(
        "execute_tool Bash", attributes={sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL, sc.CC_TOOL_ERROR: f"token {secret}"}
    )
    span.end()
    built.tracer_provider.shutdown()  # the agent's shutdown flushes the batch processor
    (record,) = read_recent_spans(recent_spans_path(str(tmp_path)))
    (exported,) = built.outbox.peek()
    assert record.attributes[sc.CC_TOOL_ERROR] == (exported.attributes or {})[sc.CC_TOOL_ERROR]
    assert secret not in (tmp_path / "recent-spans.jsonl").read_text(encoding="utf-8")


def _name_column(line: str) -> int:
    """Where a tree line's span name starts (after the branch drawing)."""
    return next(i for i, char in enumerate(line) if char.isalnum())


def test_every_line_is_strict_json_and_odd_values_survive(tmp_path: Path) -> None:
    """Lines are JSON any parser takes (a NaN attribute is null, not the bare NaN json.dumps wrote), and a span the
    fast encoder refuses (a lone surrogate, an integer past 64 bits) is still written, with json's escapes."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    path = str(tmp_path / "recent-spans.jsonl")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RecentSpansExporter(path)))
    tracer = provider.get_tracer("t")
    tracer.start_span("nan", attributes={"x": float("nan"), "names": ("é", "b")}).end()
    tracer.start_span("odd \ud800", attributes={"big": 2**70, "s": "cut \udc00"}).end()

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    lines = Path(path).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line, parse_constant=refuse) for line in lines]
    assert records[0]["attributes"] == {"x": None, "names": ["é", "b"]}
    assert records[1]["name"] == "odd \ud800" and records[1]["attributes"] == {"big": 2**70, "s": "cut \udc00"}
    assert [s.name for s in read_recent_spans(path)] == ["nan", "odd \ud800"]
