"""Redaction cost: microseconds per span and MB/s of text, against baselines measured in the same run.

Workloads:
- spans as the agent makes them (tests/fixtures/claude-code-2.1.330 payloads), with content capture off
  (ids, names, sizes: mostly allow-listed) and on (prompt, tool input and response JSON, the whole event);
  timed through `RedactingSpanProcessor.scrub_span` on real ReadableSpans. Baseline: copying the span's
  attributes into a new dict (`dict(span.attributes)`), the least any processor that copies does.
- texts: the fixture transcripts (real Claude Code JSON lines), Python standard-library code, random base64,
  and adversarial inputs built to make a regex backtrack (`token=` repeated, BEGIN without END, ...).
  Baseline: one `str.lower()` pass over the same text (C speed, one pass); the ratio says how many such
  passes scrubbing costs. A ratio that grows with the input size would mean worse than linear time: the
  adversarial inputs are run at two sizes to show it does not.

    .venv/bin/python benchmarks/bench_redaction.py            # 10 MB inputs, more repeats
    .venv/bin/python benchmarks/bench_redaction.py --short    # 0.5 MB inputs, a couple of seconds

The span cost is also measured against the scrubber as it was before issue 11 (git ref BASELINE_REF, loaded in
this same process under another package name and timed in alternation with the current one, so machine load
hits both alike). `--check` fails when scrubbing a span costs more than MAX_SPAN_COST_RATIO times that baseline.

    .venv/bin/python benchmarks/bench_redaction.py --short --check   # the ratio to the pre-issue-11 scrubber
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import random
import re
import string
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from otel_claude import semconv as sc
from otel_claude.live.tool_calls import tool_summary
from otel_claude.redaction import RedactingSpanProcessor, scrub_value

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code-2.1.330"
# The tree before issue 11 (names bounded, entropy, command lines, credential keys, nested JSON): the scrubber
# whose cost per span the current one must stay within MAX_SPAN_COST_RATIO of.
BASELINE_REF = "0e9992c"
MAX_SPAN_COST_RATIO = 2.0
STDLIB_MODULES = (
    "urllib/request.py",
    "http/client.py",
    "smtplib.py",
    "argparse.py",
    "subprocess.py",
    "ssl.py",
    "logging/__init__.py",
    "configparser.py",
    "tarfile.py",
    "zipfile.py",
)


def best_of(fn: Callable[[], object], repeats: int, min_time: float) -> float:
    """Best time of one call, over `repeats` rounds of enough calls to last `min_time` seconds."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls > 1 << 20:
            break
        calls *= 2
    best = elapsed / calls
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


class _Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def make_spans() -> tuple[list[ReadableSpan], list[ReadableSpan]]:
    """(capture off, capture on) spans built from the fixture tool calls."""
    pre = json.loads((FIXTURES / "hooks" / "PreToolUse.json").read_text())
    post = json.loads((FIXTURES / "hooks" / "PostToolUse.json").read_text())
    prompts = json.loads((FIXTURES / "hooks" / "UserPromptSubmit.json").read_text())
    collect = _Collect()
    provider = TracerProvider()
    provider.add_span_processor(collect)
    tracer = provider.get_tracer("bench")
    off: list[ReadableSpan] = []
    on: list[ReadableSpan] = []
    for i, (start, end) in enumerate(zip(pre, post, strict=False)):
        base: dict[str, Any] = {
            sc.SESSION_ID: start["session_id"],
            sc.GEN_AI_CONVERSATION_ID: start["session_id"],
            sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: start["tool_name"],
            sc.GEN_AI_TOOL_CALL_ID: start["tool_use_id"],
            sc.GEN_AI_TOOL_TYPE: sc.GEN_AI_TOOL_TYPE_FUNCTION,
            sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL,
            sc.CC_PROMPT_ID: start.get("prompt_id", ""),
            sc.CC_CWD: start["cwd"],
            sc.CC_PROJECT: "project",
            sc.CC_PERMISSION_MODE: start["permission_mode"],
            sc.CC_TOOL_OUTCOME: sc.OUTCOME_SUCCESS,
            sc.CC_TOOL_DURATION_MS: end.get("duration_ms", 0),
            sc.CC_TOOL_INPUT_SIZE: len(json.dumps(start["tool_input"])),
            sc.CC_TOOL_RESPONSE_SIZE: len(json.dumps(end.get("tool_response"))),
            sc.CC_TOOL_SUMMARY: tool_summary(start["tool_name"], start["tool_input"]) or "",
            sc.USER_NAME: "dev",
            sc.GEN_AI_REQUEST_MODEL: "claude-opus-5-5",
        }
        content = {
            **base,
            sc.CC_PROMPT: prompts[i % len(prompts)]["prompt"],
            sc.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps(start["tool_input"]),
            sc.GEN_AI_TOOL_CALL_RESULT: json.dumps(end.get("tool_response")),
            sc.CC_EVENT_PAYLOAD: json.dumps(end),
        }
        for attrs, bucket in ((base, off), (content, on)):
            with tracer.start_as_current_span(sc.tool_span_name(start["tool_name"]), attributes=attrs) as span:
                span.add_event(end["hook_event_name"], {sc.CC_HOOK_EVENT: end["hook_event_name"]})
            bucket.append(collect.spans[-1])
    provider.shutdown()
    return off, on


def texts(size: int) -> list[tuple[str, str]]:
    transcripts = "".join(p.read_text() for p in sorted(FIXTURES.glob("sessions/**/transcripts/**/*.jsonl")))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = "".join((stdlib / m).read_text(errors="replace") for m in STDLIB_MODULES)
    rnd = random.Random(7)
    b64 = "".join(rnd.choices(string.ascii_letters + string.digits + "+/", k=size))
    return [
        ("fixture transcripts (JSONL text)", transcripts[:size]),
        ("one transcript line (JSON doc)", max(transcripts.splitlines()[:200], key=len)),
        ("stdlib code", (code * (size // len(code) + 1))[:size]),
        ("random base64", b64),
    ]


def adversarial(size: int) -> list[tuple[str, str]]:
    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    return [
        ("'pwd=\\n' (every line a secret key)", fill("pwd=\n")),
        ("'token=' repeated", fill("token=")),
        ("'cred' repeated (keys, no separator)", fill("cred")),
        ("'eyJ-' repeated (JWT starts)", fill("eyJ-")),
        ("BEGIN PRIVATE KEY, no END", fill("-----BEGIN RSA PRIVATE KEY-----!")),
        ("'://a:' repeated", fill("://a:")),
        ("'password: \"' then no quote", 'password: "' + "a" * size),
        ("'Bearer ' repeated", fill("Bearer ")),
        ("one char repeated", "a" * size),
        ("'\"secret\": {' unclosed, repeated", fill('"secret": {' + "a" * 100)),
        ("'https://a:b@' repeated", fill("https://a:b@")),
        ("'sshpass -p ' repeated", fill("sshpass -p ")),
    ]


def bench_text(label: str, text: str, repeats: int, min_time: float) -> None:
    base = best_of(text.lower, repeats, min_time)
    scrub = best_of(lambda: scrub_value(text), repeats, min_time)
    mb = len(text.encode()) / 1e6
    line = (
        f"  {label:36s} {mb:7.2f} MB {scrub * 1e3:9.2f} ms {mb / scrub:8.1f} MB/s   x{scrub / base:7.1f} of str.lower"
    )
    if _BASE_SCRUB is not None:
        base_scrub = _BASE_SCRUB
        before = best_of(lambda: base_scrub(text), repeats, min_time)
        line += f"   x{scrub / before:5.2f} of {BASELINE_REF}"
    print(line)


def baseline_processor(ref: str, workdir: Path) -> type[SpanProcessor] | None:
    """RedactingSpanProcessor of the package at git `ref`, imported as `otel_claude_base`; None if not available."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "otel_claude"], capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(workdir, filter="data")
    package = workdir / "otel_claude_base"
    (workdir / "otel_claude").rename(package)
    for path in package.rglob("*.py"):
        path.write_text(re.sub(r"\botel_claude\b", "otel_claude_base", path.read_text()))
    sys.path.insert(0, str(workdir))
    module = importlib.import_module("otel_claude_base.redaction.processor")
    processor: type[SpanProcessor] = module.RedactingSpanProcessor
    global _BASE_SCRUB
    _BASE_SCRUB = importlib.import_module("otel_claude_base.redaction").scrub_value
    return processor


_BASE_SCRUB: Callable[[str], object] | None = None  # the baseline's scrub_value, once loaded


def bench_spans(repeats: int, min_time: float, baseline: type[SpanProcessor] | None) -> dict[str, float]:
    """Prints us/span per capture mode; returns the ratio to the baseline scrubber per mode (if there is one)."""
    processor = RedactingSpanProcessor(_Collect())
    base_processor = baseline(_Collect()) if baseline is not None else None  # type: ignore[call-arg]
    off, on = make_spans()
    print(
        f"spans (RedactingSpanProcessor.scrub_span), {len(off)} fixture tool calls; "
        f"ratios to dict(span.attributes) and to the scrubber at {BASELINE_REF}"
    )
    ratios: dict[str, float] = {}
    for label, spans in (("capture off", off), ("capture on", on)):

        def copy_all(spans: list[ReadableSpan] = spans) -> object:
            return [dict(s.attributes or {}) for s in spans]

        def scrub_all(spans: list[ReadableSpan] = spans) -> object:
            return [processor.scrub_span(s) for s in spans]

        def base_all(spans: list[ReadableSpan] = spans) -> object:
            return [base_processor.scrub_span(s) for s in spans]  # type: ignore[union-attr]

        copy = scrub = base = float("inf")
        for _ in range(repeats):  # in alternation, so a busy machine slows all three alike
            copy = min(copy, best_of(copy_all, 1, min_time) / len(spans))
            scrub = min(scrub, best_of(scrub_all, 1, min_time) / len(spans))
            if base_processor is not None:
                base = min(base, best_of(base_all, 1, min_time) / len(spans))
        size_kb = sum(len(json.dumps(dict(s.attributes or {}))) for s in spans) / len(spans) / 1e3
        line = f"  {label:12s} {size_kb:6.1f} kB/span {scrub * 1e6:8.1f} us/span   x{scrub / copy:6.1f} of dict copy"
        if base_processor is not None:
            ratios[label] = scrub / base
            line += f"   {base * 1e6:8.1f} us/span at {BASELINE_REF}: x{scrub / base:5.2f}"
        print(line)
    return ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="0.5 MB inputs and fewer repeats (a few seconds)")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"fail if a span costs more than {MAX_SPAN_COST_RATIO}x the scrubber at --baseline-ref",
    )
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of the baseline scrubber")
    parser.add_argument("--spans-only", action="store_true", help="only the per-span figures")
    args = parser.parse_args(argv)
    size = 500_000 if args.short else 10_000_000
    repeats, min_time = (5, 0.02) if args.short else (7, 0.2)

    workdir = tempfile.TemporaryDirectory()  # the baseline package stays importable until the end
    baseline = baseline_processor(args.baseline_ref, Path(workdir.name))
    if baseline is None:
        print(f"baseline {args.baseline_ref} not available (not a git checkout?): no ratio to it")
    ratios = bench_spans(repeats, min_time, baseline)
    short = ["execute_tool Bash", "/home/dev/project/src/app.py", "git status && npm test", "claude-opus-5-5"]
    per = best_of(lambda: [scrub_value(s) for s in short], repeats, min_time) / len(short)
    base = best_of(lambda: [s.lower() for s in short], repeats, min_time) / len(short)
    print(f"  short strings {per * 1e6:8.2f} us each   x{per / base:6.1f} of str.lower")
    failed = [f"{label}: x{ratio:.2f}" for label, ratio in ratios.items() if ratio > MAX_SPAN_COST_RATIO]
    if args.check:
        if baseline is None:
            print("--check: no baseline to compare with")
            return 2
        print(
            f"check (target): cost per span within x{MAX_SPAN_COST_RATIO} of {args.baseline_ref}: "
            f"{'FAILED ' + ', '.join(failed) if failed else 'ok'}"
        )
        if failed:
            return 1
    if args.spans_only:
        return 0

    print(f"texts ({size / 1e6:g} MB unless smaller)")
    for label, text in texts(size):
        bench_text(label, text, repeats, min_time)
    print("adversarial inputs, at two sizes (a ratio that stays flat means linear time)")
    for small, large in zip(adversarial(size // 10), adversarial(size), strict=True):
        bench_text(small[0], small[1], repeats, min_time)
        bench_text(large[0], large[1], 1 if not args.short else repeats, min_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
