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
    .venv/bin/python benchmarks/bench_redaction.py --check    # exit 1 when a target is missed
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from otel_claude import semconv as sc
from otel_claude.redaction import RedactingSpanProcessor, scrub_value

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "claude-code-2.1.330"
# Linear time: on every adversarial input, the cost relative to str.lower at 10x the size is at most this multiple
# of the cost at 1x (a quadratic scrubber would give about 10).
LINEARITY_TARGET = 4.0
STDLIB_MODULES = ("urllib/request.py", "http/client.py", "smtplib.py", "argparse.py", "subprocess.py", "ssl.py",
                  "logging/__init__.py", "configparser.py", "tarfile.py", "zipfile.py")


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
            sc.SESSION_ID: start["session_id"], sc.GEN_AI_CONVERSATION_ID: start["session_id"],
            sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: start["tool_name"],
            sc.GEN_AI_TOOL_CALL_ID: start["tool_use_id"], sc.GEN_AI_TOOL_TYPE: sc.GEN_AI_TOOL_TYPE_FUNCTION,
            sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL, sc.CC_PROMPT_ID: start.get("prompt_id", ""),
            sc.CC_CWD: start["cwd"], sc.CC_PROJECT: "project", sc.CC_PERMISSION_MODE: start["permission_mode"],
            sc.CC_TOOL_OUTCOME: sc.OUTCOME_SUCCESS, sc.CC_TOOL_DURATION_MS: end.get("duration_ms", 0),
            sc.CC_TOOL_INPUT_SIZE: len(json.dumps(start["tool_input"])),
            sc.CC_TOOL_RESPONSE_SIZE: len(json.dumps(end.get("tool_response"))),
            sc.CC_TOOL_SUMMARY: str(start["tool_input"].get("command") or start["tool_input"].get("file_path") or ""),
            sc.USER_NAME: "dev", sc.GEN_AI_REQUEST_MODEL: "claude-opus-5-5",
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
    ]


def bench_text(label: str, text: str, repeats: int, min_time: float) -> float:
    """Prints one row; returns the cost as a multiple of one str.lower pass."""
    base = best_of(text.lower, repeats, min_time)
    scrub = best_of(lambda: scrub_value(text), repeats, min_time)
    mb = len(text.encode()) / 1e6
    print(f"  {label:36s} {mb:7.2f} MB {scrub * 1e3:9.2f} ms {mb / scrub:8.1f} MB/s"
          f"   x{scrub / base:7.1f} of str.lower")
    return scrub / base


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="0.5 MB inputs and fewer repeats (a few seconds)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = 500_000 if args.short else 10_000_000
    repeats, min_time = (3, 0.005) if args.short else (5, 0.2)

    processor = RedactingSpanProcessor(_Collect())
    off, on = make_spans()
    print(f"spans (RedactingSpanProcessor.scrub_span; baseline dict(span.attributes)), {len(off)} fixture tool calls")
    for label, spans in (("capture off", off), ("capture on", on)):

        def copy_all(spans: list[ReadableSpan] = spans) -> object:
            return [dict(s.attributes or {}) for s in spans]

        def scrub_all(spans: list[ReadableSpan] = spans) -> object:
            return [processor.scrub_span(s) for s in spans]

        base = best_of(copy_all, repeats, min_time) / len(spans)
        scrub = best_of(scrub_all, repeats, min_time) / len(spans)
        size_kb = sum(len(json.dumps(dict(s.attributes or {}))) for s in spans) / len(spans) / 1e3
        print(f"  {label:12s} {size_kb:6.1f} kB/span {scrub * 1e6:8.1f} us/span   x{scrub / base:6.1f} of dict copy")
    short = ["execute_tool Bash", "/home/dev/project/src/app.py", "git status && npm test", "claude-opus-5-5"]
    per = best_of(lambda: [scrub_value(s) for s in short], repeats, min_time) / len(short)
    base = best_of(lambda: [s.lower() for s in short], repeats, min_time) / len(short)
    print(f"  short strings {per * 1e6:8.2f} us each   x{per / base:6.1f} of str.lower")

    print(f"texts ({size / 1e6:g} MB unless smaller)")
    for label, text in texts(size):
        bench_text(label, text, repeats, min_time)
    print("adversarial inputs, at two sizes (a ratio that stays flat means linear time)")
    growth: list[tuple[str, float]] = []
    for small, large in zip(adversarial(size // 10), adversarial(size), strict=True):
        at_small = bench_text(small[0], small[1], repeats, min_time)
        at_large = bench_text(large[0], large[1], 1 if not args.short else repeats, min_time)
        growth.append((small[0], at_large / at_small))
    worst_label, worst = max(growth, key=lambda item: item[1])
    ok = worst <= LINEARITY_TARGET
    print(
        f"target: cost vs str.lower at 10x the size <= {LINEARITY_TARGET} x at 1x; worst {worst:.2f} "
        f"({worst_label}): {'ok' if ok else 'MISSED'}"
    )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
