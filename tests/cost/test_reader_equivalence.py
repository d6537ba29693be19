"""The reader's fast paths change no result: a read gives what the parser before them gave (tests/cost/reference,
commit 8b8ffd7), line by line, on Claude Code-shaped lines and on broken ones (bad JSON, missing or odd fields, odd
timestamps, non-UTF-8 bytes, keys pushed past the head, blank and `\\r` lines), in every mode of a read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cost.odd_inputs import RANDOM_USAGE, STAMPS, USAGES
from cost.reference import old_lines
from otel_claude.transcripts import line_bytes, notice_lines
from otel_claude.transcripts.dedup import Dedup, Outcome
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.reader import Cursor, read_new

_TEXTS = [
    "do the thing",
    notice_lines.REJECTED + ". To tell you how to proceed",
    "<tool_use_error>Blocked: sleep 30</tool_use_error>",
    notice_lines.STOPPED_STREAM,
    "it's <b>ok</b>",
    '"type":"assistant" "cost-state" "usage"',
]
_ids = st.sampled_from(["m1", "m1", "m2", "m3", "", None, 7])
_stamps = st.sampled_from(STAMPS)


def _assistant(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 3)) > 0:  # mostly a line that makes a call: the odd values below each break it
        model, usage, stamp, session = "claude-opus-4-6", draw(st.sampled_from(USAGES[:3])), STAMPS[0], "s1"
        stamp = draw(st.sampled_from(STAMPS[:5]))
    else:
        model = draw(st.sampled_from(["claude-opus-4-6", "<synthetic>", "", 4]))
        usage, stamp = draw(st.sampled_from(USAGES) | RANDOM_USAGE), draw(_stamps)
        session = draw(st.sampled_from(["s1", "", None]))
    line: dict[str, Any] = {
        "type": draw(st.sampled_from(["assistant", "assistant", "user", "progress"])),
        "message": {
            "id": draw(_ids),
            "model": model,
            "usage": usage,
            "stop_reason": draw(st.sampled_from(["tool_use", None, ""])),
            "content": [draw(st.sampled_from([{"type": "tool_use", "id": "t1", "name": "Bash"}, {"type": "text"}]))],
        },
        "requestId": draw(st.sampled_from(["r1", "r2", None])),
        "requestRef": draw(st.sampled_from(["q1", "q2", "", None])),
        "timestamp": stamp,
        "sessionId": session,
        "isSidechain": draw(st.sampled_from([False, False, True, 1])),
    }
    for key, values in [("promptId", ["p9", "", 3]), ("agentId", ["a1", ""]), ("uuid", ["u1"]), ("cwd", ["/x", 0])]:
        if draw(st.booleans()):
            line[key] = draw(st.sampled_from(values))
    for key in draw(st.lists(st.sampled_from(["usage", "model", "id", "content"]), max_size=1)):
        line["message"].pop(key, None)  # an assistant line without usage closes a response, without a call
    if draw(st.integers(0, 9)) == 0:
        line["isApiErrorMessage"] = True
        line["apiErrorStatus"] = draw(st.sampled_from([529, None, True]))
        line["error"] = "overloaded"
    return line


def _other(draw: st.DrawFn) -> dict[str, Any]:
    kinds = [
        "prompt",
        "result",
        "result",
        "result",
        "stopped",
        "request",
        "request",
        "cost",
        "attachment",
        "user-usage",
    ]
    kind = draw(st.sampled_from(kinds))
    text = draw(st.sampled_from(_TEXTS))
    line: dict[str, Any]
    if kind == "request":
        line = {"type": "api-request", "id": draw(st.sampled_from(["q1", "q2", "q" * 200])), "timestamp": draw(_stamps)}
    elif kind == "cost":
        models = {"claude-opus-4-6": {"inputTokens": 1, "costUSD": draw(st.sampled_from([0.5, 0.25, 2, True]))}}
        line = {"type": "cost-state", "sessionId": "s1", "totalCostUSD": 1.5, "modelUsage": models}
    elif kind == "attachment":
        line = {"type": draw(st.sampled_from(["attachment", "assistant", "system"])), "note": text}
    elif kind == "user-usage":  # a user line with a `"usage"` key: decoded, no call, and what it closes
        line = {"type": "user", "message": {"content": [{"type": "text", "text": text}]}, "usage": 1}
        line["interruptedMessageId"] = draw(_ids)
    else:
        block: dict[str, Any] = {"type": "text", "text": text}
        if kind == "result":
            block = {
                "type": "tool_result",
                "tool_use_id": "t1",
                "is_error": draw(st.sampled_from([True, True, False])),
                "content": text,
            }
        line = {"type": "user", "message": {"role": "user", "content": [block] if kind != "prompt" else text}}
        line["interruptedMessageId"] = draw(_ids)
    for key, values in [("promptId", ["p1", "p2", ""]), ("version", ["2.1.330", "x.y", "2.1.330-beta"])]:
        if draw(st.booleans()):
            line[key] = draw(st.sampled_from(values))
    line.setdefault("timestamp", draw(_stamps))
    return line


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 7)) == 0:
        raw = [b"", b"  ", b"\r", b"\t{}", b"not json", b"\xff\xfe{", b"[1]", b'{"usage":1', b'"type":"user"']
        return draw(st.sampled_from(raw) | st.binary(max_size=40).filter(lambda b: b"\n" not in b))
    data = _assistant(draw) if draw(st.booleans()) else _other(draw)
    items = list(data.items())
    for key in draw(st.lists(st.sampled_from(["type", "timestamp", "promptId", "sessionId"]), max_size=1)):
        items = [(k, v) for k, v in items if k != key]
    if draw(st.integers(0, 4)) == 0:  # push what follows toward or past the head's end
        at = draw(st.integers(0, len(items)))
        items.insert(at, ("pad", "x" * draw(st.integers(line_bytes.HEAD - 120, line_bytes.HEAD + 40))))
    encoded = json.dumps(dict(items), separators=(",", ":"), ensure_ascii=draw(st.booleans())).encode()
    mutation = draw(st.integers(0, 9))
    if mutation == 0:  # cut off
        encoded = encoded[: draw(st.integers(0, len(encoded)))]
    elif mutation == 1:  # a stray byte, maybe not UTF-8
        at = draw(st.integers(0, len(encoded)))
        encoded = encoded[:at] + draw(st.sampled_from([b"\xff", b" ", b'"', b"\\", b"\r"])) + encoded[at:]
    elif mutation == 2:
        encoded = b"  " + encoded + b"\r"
    return encoded


def _old_read(path: str, data: bytes, dedup: Dedup | None, calls_only: bool, cost_states: bool) -> list[Any]:
    """reader._read's loop before the speed work: the buffer split into lines, each through the old parser, which
    skips no repeat (the dedup drops them)."""
    parser = old_lines.LineParser(path, {}, skip_repeats=False, calls_only=calls_only, cost_states=cost_states)
    end = data.rfind(b"\n") + 1  # the complete lines
    items: list[Any] = []
    position = 0
    for line in data[:end].split(b"\n"):
        line_offset = position
        position += len(line) + 1
        if not line or line.isspace():
            continue
        item = parser.parse(line, line_offset)
        if isinstance(item, LlmCall) and dedup is not None:
            seen = dedup.observe(item)
            if seen.outcome is Outcome.DUPLICATE:
                continue
            if seen.outcome is Outcome.REPLACED:
                item = _replacing(item, seen.previous)
        if item is not None:
            items.append(item)
    return [items, parser.closed_messages, parser.bad_lines, parser.context(), end]


def _replacing(call: LlmCall, previous: Any) -> LlmCall:
    from dataclasses import replace

    return replace(call, replaces=previous)


_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


@st.composite
def _lines(draw: st.DrawFn) -> list[bytes]:
    """Lines, some of them written again right after themselves: a response's later content blocks repeat its line."""
    lines: list[bytes] = []
    for line in draw(st.lists(_line(), min_size=10, max_size=40)):
        lines += [line] * draw(st.sampled_from([1, 1, 1, 2, 3, 4]))
    return lines


_LINES = _lines()


@settings(max_examples=50, deadline=None, suppress_health_check=_SLOW)
@given(lines=_LINES, last_newline=st.booleans())
def test_a_read_gives_what_the_old_parser_gave(tmp_path_factory: Any, lines: list[bytes], last_newline: bool) -> None:
    _check_read(tmp_path_factory, lines, last_newline)


@pytest.mark.reliability
@settings(max_examples=3000, deadline=None, suppress_health_check=_SLOW)
@given(lines=_LINES, last_newline=st.booleans())
def test_more_reads_agree(tmp_path_factory: Any, lines: list[bytes], last_newline: bool) -> None:
    """The test above with thirty times the examples (a few minutes): the reliability tier's."""
    _check_read(tmp_path_factory, lines, last_newline)


def _check_read(tmp_path_factory: Any, lines: list[bytes], last_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if last_newline else b"")
    path = tmp_path_factory.mktemp("eq") / "t.jsonl"
    path.write_bytes(data)
    for dedup, calls_only, cost_states in [(True, False, True), (False, False, True), (True, True, False)]:
        new = Dedup() if dedup else None
        result = read_new(Cursor(path=str(path)), new, calls_only=calls_only, cost_states=cost_states)
        old = Dedup() if dedup else None
        # Against the old parser without its skipping of repeats: skipping is a shortcut and must change nothing.
        # The old one's did: a skipped repeat closed its own response (closed again at a later line, or ended early
        # across reads), and a line with a message id that is not a string was skipped as a repeat, though it is
        # deduplicated as a line without message id.
        items, closed, bad, context, end = _old_read(str(path), data, old, calls_only, cost_states)
        got = [*result.calls, *result.cost_states, *result.interrupts]
        expected = [i for i in items if isinstance(i, LlmCall)]
        expected += [i for i in items if type(i).__name__ == "CostState"]
        expected += [i for i in items if not isinstance(i, LlmCall) and type(i).__name__ != "CostState"]
        # repr: a NaN (json's fallback reads one) is unequal to itself
        assert repr(got) == repr(expected)
        assert result.closed_messages == closed and result.skipped_lines == bad
        assert result.cursor.context == context and result.cursor.offset == end


@settings(max_examples=300)
@given(
    data=st.lists(st.sampled_from([b'"version":"', b"2.1.33", b"0", b'"', b"x", b"\\"]) | st.binary(max_size=6)),
    start=st.integers(0, 30),
    end=st.integers(0, 200),
)
def test_search_from_is_the_regex_search(data: list[bytes], start: int, end: int) -> None:
    buffer = b"".join(data)
    found = line_bytes.search_from(line_bytes.VERSION_KEY, line_bytes.CLAUDE_CODE_VERSION, buffer, start, end)
    expected = line_bytes.CLAUDE_CODE_VERSION.search(buffer, start, end)
    assert (found.span(), found.group(1)) == (expected.span(), expected.group(1)) if expected else found is None


def test_the_oracle_is_the_old_parser(tmp_path: Path) -> None:
    """A guard for the test above: the reference still finds calls (an oracle that saw nothing would agree)."""
    line = USAGES[0]
    message = {"id": "m", "model": "x", "usage": line}
    text = json.dumps({"type": "assistant", "message": message, "sessionId": "s", "timestamp": STAMPS[0]})
    items = _old_read("p", text.encode() + b"\n", None, False, True)[0]
    assert len(items) == 1 and isinstance(items[0], LlmCall)
