"""Hostile input: whatever reaches the hook, it exits 0 with nothing on stdout; whatever reaches the agent, it
stays up, dead-letters what it cannot use (with the reason) and exports the rest.

The hook tests run the real hook processes with the production environment (no OTEL_CLAUDE_DEBUG: errors are
swallowed as for users), for both hooks install can register: hook.sh (bash) and hook.py. The agent test feeds
one agent the whole corpus and then a valid session, whose spans must arrive. The property tests drive the same
decode-and-process path in-process, where hypothesis can afford thousands of cases.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shlex
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.otlp_receiver import OtlpReceiver, span_attributes

from otel_claude import config as config_module
from otel_claude import semconv as sc
from otel_claude.agent.records import BadRecord, decode_record
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import lock_path
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.processor import EventProcessor
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState
from otel_claude.live.usage import usage_tracker_factory
from reliability.harness import HOOK_VARIANTS, HOOKS, Sandbox
from reliability.synthetic import SessionTemplate, fixture_payloads

pytestmark = pytest.mark.reliability

HANG_GUARD_S = 20  # a hook that blocks this long would stall Claude Code; not a performance bound
# Reasons the agent gives for records it cannot use; "processing_error" is absent on purpose: it means a bug.
EXPECTED_REASONS = {"bad_header", "empty", "invalid_utf8", "invalid_json", "invalid_fields", "too_deep", "incomplete"}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _event(**fields: Any) -> bytes:
    return json.dumps({"session_id": "hostile", "hook_event_name": "PostToolUse", "tool_name": "Bash",
                       "tool_use_id": "toolu_hostile", **fields}).encode()  # fmt: skip


# Bytes as the hook may get them, and whether the agent must refuse them (dead letter) or take them.
REFUSED, TAKEN = True, False
HOSTILE: dict[str, tuple[bytes, bool]] = {
    "empty": (b"", REFUSED),
    "whitespace": (b" \n\t\r\n", REFUSED),
    "garbage": (b"not json at all", REFUSED),
    "truncated-json": (b'{"session_id": "s", "hook_event_name": "Pre', REFUSED),
    "trailing-garbage": (b'{"session_id": "s", "hook_event_name": "Stop"} trailing', REFUSED),
    "nul-bytes": (b'{"session_id": "s\x00", "hook_event_name": "Stop"}\x00\x00', REFUSED),
    "invalid-utf8": (b'{"session_id": "s", "hook_event_name": "Stop", "x": "\xff\xfe\xc0"}', REFUSED),
    "utf8-bom": (b'\xef\xbb\xbf{"session_id": "s", "hook_event_name": "Stop"}', TAKEN),
    "lone-surrogate-escape": (
        b'{"session_id": "s\\ud800", "hook_event_name": "PreToolUse", "tool_name": "B\\udc00", "tool_use_id": "t"}',
        TAKEN,
    ),
    "top-level-array": (b'[{"session_id": "s", "hook_event_name": "Stop"}]', REFUSED),
    "top-level-number": (b"1e999", REFUSED),
    "nested-100k": (_nested(100_000), REFUSED),
    "nested-100k-in-field": (_event(tool_response="@@").replace(b'"@@"', _nested(100_000)), REFUSED),
    "nested-500-in-field": (_event(tool_response="@@").replace(b'"@@"', _nested(500)), TAKEN),
    "unknown-event": (b'{"session_id": "s", "hook_event_name": "BrandNewEvent2099", "x": {"y": [1, 2]}}', TAKEN),
    "missing-session-id": (b'{"hook_event_name": "Stop"}', REFUSED),
    "wrong-type-session-id": (b'{"session_id": {"a": 1}, "hook_event_name": "Stop"}', REFUSED),
    "huge-string-5mb": (_event(tool_response={"stdout": "x" * 5_000_000}), TAKEN),
    "payload-20mb": (_event(tool_response={"stdout": "y" * 20_000_000}), TAKEN),
    "transcript-dev-zero": (_event(transcript_path="/dev/zero"), TAKEN),
    "transcript-dev-urandom": (_event(transcript_path="/dev/urandom"), TAKEN),
    "transcript-directory": (_event(transcript_path="/"), TAKEN),
    "transcript-missing": (_event(transcript_path="/nonexistent/dir/t.jsonl"), TAKEN),
    "transcript-nul-in-path": (_event(transcript_path="/tmp/a\x00b.jsonl"), TAKEN),
    "transcript-relative": (_event(transcript_path="../../etc/passwd"), TAKEN),
    "agent-id-traversal": (_event(agent_id="../../../../../../etc/passwd", transcript_path="/tmp/x.jsonl"), TAKEN),
}
HOSTILE_STDIN = {name: payload for name, (payload, _) in HOSTILE.items()}


@pytest.fixture
def held_lock(make_sandbox: Callable[..., Sandbox]) -> Iterator[Sandbox]:
    """A sandbox whose agent lock we hold: hooks spool, no agent takes the records, so they can be inspected."""
    sandbox = make_sandbox()
    spool.ensure_layout(sandbox.paths)
    fd = os.open(lock_path(str(sandbox.state_dir)), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield sandbox
    os.close(fd)


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
@pytest.mark.parametrize("name", sorted(HOSTILE_STDIN))
def test_hook_exits_zero_silently_on_hostile_stdin(name: str, variant: str, held_lock: Sandbox) -> None:
    payload = HOSTILE_STDIN[name]
    result = held_lock.hook(payload, variant=variant, timeout=HANG_GUARD_S)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    names = held_lock.pending()
    assert len(names) == 1, "the hook must hand over what it got, whatever it is"
    assert spool.decode(spool.read_record(held_lock.paths, names[0]))[1] == payload  # byte for byte


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_hook_with_a_tty_on_stdin_does_not_block(variant: str, held_lock: Sandbox) -> None:
    primary, secondary = pty.openpty()
    try:
        result = held_lock.hook(b"", variant=variant, stdin=secondary, timeout=HANG_GUARD_S)
    finally:
        os.close(primary)
        os.close(secondary)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_hook_with_stdin_closed(variant: str, held_lock: Sandbox) -> None:
    # No fd 0 at all, not even /dev/null: closed by a shell before exec (not preexec_fn, which is unsafe in a
    # process that runs gRPC threads).
    closed = ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *HOOKS[variant](str(held_lock.state_dir))]
    result = subprocess.run(
        closed, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG_GUARD_S, env=held_lock.env
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


# Not hook.sh: its `cat` gives up at the first EAGAIN. Claude Code's runtime (libuv) makes a child's stdio blocking,
# so this is a guard for other callers, kept by the hooks install registers first.
@pytest.mark.parametrize("variant", ["registered", "python"])
def test_hook_with_a_slow_non_blocking_stdin_hands_over_everything(variant: str, held_lock: Sandbox) -> None:
    payload = _event(tool_response={"stdout": "z" * 200_000})
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)  # the hook's end: a read finds nothing yet, and must wait, not stop
    with theirs:
        process = subprocess.Popen(
            HOOKS[variant](str(held_lock.state_dir)), stdin=theirs.fileno(), env=held_lock.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
    with ours:
        for start in range(0, len(payload), 50_000):
            time.sleep(0.05)
            ours.sendall(payload[start : start + 50_000])
    out, err = process.communicate(timeout=HANG_GUARD_S)
    assert (process.returncode, out, err) == (0, b"", b"")
    (name,) = held_lock.pending()
    assert spool.decode(spool.read_record(held_lock.paths, name))[1] == payload


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=2048))
def test_hook_hands_over_any_bytes_unchanged(variant: str, payload: bytes, held_lock: Sandbox) -> None:
    before = set(held_lock.pending())
    result = held_lock.hook(payload, variant=variant, timeout=HANG_GUARD_S)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    (name,) = set(held_lock.pending()) - before
    assert spool.decode(spool.read_record(held_lock.paths, name))[1] == payload


# --- the agent -------------------------------------------------------------------------------------------


def _wrong_types() -> list[bytes]:
    """Every top-level field of every fixture payload, set in turn to each value of the wrong type."""
    wrong: list[Any] = [None, 0, -1, 2**70, 1.5, float("1e308"), True, "", "x" * 3000, [], {}, [1, [2, [3]]],
                        {"a": {"b": None}}]  # fmt: skip
    out: list[bytes] = []
    for payload in fixture_payloads()[::3]:
        for field in payload:
            for value in wrong:
                out.append(json.dumps({**payload, "session_id": f"wrong-{field}", field: value}).encode())
    return out


def _hostile_transcripts(root: Path) -> list[bytes]:
    """Events whose transcript is hostile: garbage lines, a FIFO nobody writes, a symlink to /dev/zero."""
    garbage = root / "garbage.jsonl"
    lines = [
        b"\x00\x01\x02",
        b"{not json",
        b'{"type": "assistant", "message": 5}',
        b"[" * 50_000,
        b'{"type": "assistant", "message": {"usage": {"input_tokens": "many"}, "model": 7}}',
        b'{"type": "assistant", "requestId": 1, "message": {"id": [], "content": {}, "usage": null}}',
        b"\xff\xfe" * 100,
        b"x" * 3_000_000,
        b'{"type": "user", "message": {"content": [null, 1, "a"]}}',
    ]
    garbage.write_bytes(b"\n".join(lines) + b"\n")
    fifo = root / "fifo.jsonl"
    os.mkfifo(fifo)
    zero = root / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    out = []
    for number, path in enumerate([garbage, fifo, zero]):
        for event in ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"):
            payload = {"session_id": f"transcript-{number}", "hook_event_name": event, "prompt_id": "p",
                       "transcript_path": str(path), "cwd": "/home/dev/p", "prompt": "hi"}  # fmt: skip
            out.append(json.dumps(payload).encode())
    return out


def test_agent_survives_the_corpus_and_exports_a_valid_session_after_it(
    tmp_path: Path, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint, OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS="100")
    now = time.time_ns()
    labels = list(HOSTILE)
    names = sandbox.spool_records((now + index, HOSTILE[label][0]) for index, label in enumerate(labels))
    by_label = dict(zip(labels, names, strict=True))
    sandbox.spool_records((now + 10**6 + i, payload) for i, payload in enumerate(_wrong_types()))
    sandbox.spool_records((now + 2 * 10**6 + i, payload) for i, payload in enumerate(_hostile_transcripts(tmp_path)))
    # Records no hook could have written: no header, a bad time, an unknown magic, a bad length, a short payload.
    # Named as spooled two minutes ago: past the grace the agent gives a record hook.sh may still be writing.
    forged = [b"no header", b"OCR1 notanumber\n{}", b"OCR9 1\n{}", b"OCR2 1 x\n{}", b"OCR2 1 99\n{}"]
    for index, blob in enumerate(forged):
        name = f"{now - 120 * 10**9 + index:020d}-0000001-{index:05d}.rec"
        Path(sandbox.paths.new_dir, name).write_bytes(blob)
        by_label[f"forged-{index}"] = name
    valid = SessionTemplate("main").copy(now + 10**9, tmp_path / "transcripts", unique_transcripts=True)
    sandbox.spool_records(valid)
    valid_session = json.loads(valid[0][1])["session_id"]

    pid = sandbox.start_agent().pid
    assert sandbox.wait_drained(120), sandbox.agent_log()
    assert sandbox.agent_pid() == pid, "the agent died on the corpus"
    sandbox.stop_agents()

    letters = {letter["record"]: letter for letter in sandbox.dead_letters()}
    unexpected = [letter for letter in letters.values() if letter["reason"] not in EXPECTED_REASONS]
    assert unexpected == []
    assert all(letter["detail"] for letter in letters.values())
    assert all(len(letter["payload_prefix"]) <= 4 * 64 * 1024 for letter in letters.values())  # bounded, even 20 MB
    for label, name in by_label.items():
        refused = HOSTILE[label][1] if label in HOSTILE else REFUSED
        assert (name in letters) == refused, f"{label}: {'taken' if refused else 'refused'}: {letters.get(name)}"

    spans = [span for span in receiver.spans() if span_attributes(span).get(sc.SESSION_ID) == valid_session]
    names_seen = {span.name for span in spans}
    assert any(name.startswith("execute_tool") for name in names_seen), names_seen
    assert any(name.startswith("chat") for name in names_seen), "no LLM-call span: the transcript reader gave up"
    assert sandbox.status()["last_report"]["span_export"]["ok"] is True


# --- in-process properties ---------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_FIXTURES = fixture_payloads()


def _processor(tmp: Path) -> tuple[EventProcessor, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("t")
    state = AgentState()
    config = config_module.load({"OTEL_CLAUDE_STATE_DIR": str(tmp), "OTEL_CLAUDE_CONFIG_FILE": str(tmp / "none")})
    ctx = SpanFactory(tracer_provider.get_tracer("t"), HookMetrics(meter), ProcessorSettings(user_name="u"))
    return EventProcessor(ctx, state, usage_tracker_factory(config)(meter, state)), exporter


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(_FIXTURES),
    mutations=st.dictionaries(st.sampled_from(sorted({k for p in _FIXTURES for k in p})) | st.text(max_size=8),
                              _json, min_size=1, max_size=4),
)  # fmt: skip
def test_any_field_of_any_type_is_processed_or_refused_never_crashes(
    base: dict[str, Any], mutations: dict[str, Any], tmp_path: Path
) -> None:
    processor, _ = _processor(tmp_path)
    blob = spool.encode(1, json.dumps({**base, **mutations}).encode())
    try:
        received_ns, event = decode_record(blob)
    except BadRecord:
        return
    processor.handle(event, received_ns)  # must not raise
    processor.close_idle(idle_s=-1)  # every session counts as idle: closing them must not raise either


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()), max_size=20))
def test_any_transcript_content_is_read_without_crashing(lines: list[bytes], tmp_path: Path) -> None:
    transcript = tmp_path / f"t{time.monotonic_ns()}.jsonl"
    transcript.write_bytes(b"\n".join(lines) + b"\n")
    processor, _ = _processor(tmp_path)
    for event in ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"):
        payload = {"session_id": "t", "hook_event_name": event, "transcript_path": str(transcript), "prompt_id": "p"}
        processor.handle(decode_record(spool.encode(1, json.dumps(payload).encode()))[1], time.time_ns())
    assert stat.S_ISREG(transcript.stat().st_mode)


def test_without_proc_the_compiled_hook_hands_the_event_to_hook_py(held_lock: Sandbox) -> None:
    """With no /proc (a minimal container) the compiled hook cannot check an agent's identity: it finds hook.py
    beside itself by the path it was run by, and the Python hook spools the event."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to run without /proc")
    command = shlex.join(HOOKS["registered"](str(held_lock.state_dir)))
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f"umount -l /proc && exec {command}"],
        input=_event(), capture_output=True, timeout=HANG_GUARD_S, env=held_lock.env,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    (name,) = held_lock.pending()
    record = spool.read_record(held_lock.paths, name)
    assert record.startswith(spool.HEADER_MAGIC), "written by hook.py (the compiled hook writes OCR2 records)"
    assert spool.decode(record)[1] == _event()
