"""Never lose: a Collector that is down for a while, an agent killed in the middle of a batch, concurrent hooks.

The unit of "delivered once" is the span id: ids are derived from Claude Code's own ids and the spooled receive
times, so the same records always make the same spans. A reference run (healthy Collector, no faults) over the
same records gives the span set every faulty run must end with.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from support.otlp_receiver import OtlpReceiver, free_port, span_attributes

from otel_claude import semconv as sc
from otel_claude.agent.loop import BATCH_SIZE
from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import lock_path
from reliability.harness import HOOK_VARIANTS, GatedOtlpReceiver, Sandbox, span_counts, span_table, wait_for
from reliability.synthetic import interleaved

pytestmark = pytest.mark.reliability

# Two batches of the agent (records per loop pass) and a bit, from 20 concurrent copies of the fixture sessions: a kill
# can land in the middle of a batch after another one was released.
EVENTS = 2 * BATCH_SIZE + BATCH_SIZE // 7
FAST_RETRY = {"OTEL_EXPORTER_OTLP_TIMEOUT": "2"}  # seconds in this SDK: keeps failing exports short


Records = list[tuple[int, bytes]]


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Records:
    transcripts = tmp_path_factory.mktemp("transcripts")
    return list(interleaved(EVENTS, 20, time.time_ns() - 3_600_000_000_000, transcripts, unique_transcripts=True))


@pytest.fixture(scope="module")
def reference(records: Records, tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Any, ...]]:
    """span id -> span, from a run with a healthy Collector and no faults."""
    receiver = OtlpReceiver().start()
    sandbox = Sandbox(tmp_path_factory.mktemp("reference"), endpoint=receiver.endpoint)
    try:
        sandbox.spool_records(records)
        sandbox.start_agent()
        assert sandbox.wait_drained(90), sandbox.agent_log()
        sandbox.stop_agents()
        counts = span_counts(receiver)
        assert counts and max(counts.values()) == 1, "the reference run itself delivered a span twice"
        assert sandbox.dead_letters() == []
        return span_table(receiver)
    finally:
        sandbox.close()
        receiver.stop()


def test_collector_down_then_back_delivers_everything_once(
    records: Records, reference: dict[int, tuple[Any, ...]], make_sandbox: Callable[..., Sandbox]
) -> None:
    port = free_port()
    sandbox = make_sandbox(endpoint=f"http://127.0.0.1:{port}", **FAST_RETRY)
    sandbox.spool_records(records)
    sandbox.start_agent()

    # The Collector is down: exports fail, and no record leaves the spool.
    assert wait_for(lambda: (sandbox.status()["last_report"].get("span_export") or {}).get("failures", 0) >= 2, 60)
    status = sandbox.status()
    assert status["last_report"]["span_export"]["ok"] is False
    assert status["spool"]["records"] == len(records)
    # Hooks keep working meanwhile: a live event is spooled behind the backlog.
    live = json.dumps({"session_id": "live-during-outage", "hook_event_name": "Notification", "message": "hi"})
    assert sandbox.hook(live.encode()).returncode == 0
    assert len(sandbox.pending()) == len(records) + 1

    receiver = OtlpReceiver(port=port).start()
    try:
        assert sandbox.wait_drained(90), sandbox.agent_log()
        sandbox.stop_agents()
        counts = span_counts(receiver)
        table = span_table(receiver)
    finally:
        receiver.stop()
    duplicates = {span_id: n for span_id, n in counts.items() if n > 1}
    assert duplicates == {}
    assert set(table) == set(reference)
    assert table == reference  # the same spans, not only the same ids
    assert sandbox.status()["last_report"]["span_export"]["ok"] is True


def test_sigkill_in_the_middle_of_a_batch_loses_nothing(
    records: Records, reference: dict[int, tuple[Any, ...]], make_sandbox: Callable[..., Sandbox]
) -> None:
    receiver = GatedOtlpReceiver(hold_export=2)  # batch 1 goes through; batch 2 is received, never acknowledged
    receiver.start()
    try:
        sandbox = make_sandbox(endpoint=receiver.endpoint)
        sandbox.spool_records(records)
        sandbox.start_agent()
        assert receiver.held.wait(60), sandbox.agent_log()
        sandbox.kill_agent()
        in_flight = receiver.held_span_ids()
        assert in_flight, "the held export carried no span"
        remaining = len(sandbox.pending())
        assert 0 < remaining < len(records)  # batch 1 was released, the batch in flight was not

        sandbox.start_agent()  # a new agent resumes from the last snapshot
        assert sandbox.wait_drained(90), sandbox.agent_log()
        sandbox.stop_agents()
        counts = span_counts(receiver)
        table = span_table(receiver)
    finally:
        receiver.stop()
    assert set(table) == set(reference), "spans were lost or invented"
    assert table == reference, "a re-exported span differs from the original"
    duplicated = {span_id for span_id, n in counts.items() if n > 1}
    assert duplicated <= in_flight, "a span outside the batch in flight was delivered twice"
    assert max(counts.values()) <= 2


def test_repeated_sigkills_at_random_moments_lose_nothing(
    records: Records,
    reference: dict[int, tuple[Any, ...]],
    receiver: OtlpReceiver,
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    sandbox.spool_records(records)
    chance = random.Random(6)
    # Kill points spread over the work: once the backlog fell below a threshold, a random few milliseconds more,
    # so that the kill lands anywhere in a batch (reading, processing, exporting, saving, releasing).
    thresholds = [len(records), *sorted((chance.randint(50, len(records) - 1) for _ in range(3)), reverse=True)]
    kills = 0
    for threshold in thresholds:
        sandbox.start_agent()
        assert wait_for(partial(_backlog_at_most, sandbox, threshold), 60), sandbox.agent_log()
        time.sleep(chance.uniform(0, 0.15))  # the crash moment itself is what is random here
        if not sandbox.pending():
            break
        sandbox.kill_agent()
        kills += 1
    else:
        sandbox.start_agent()
    assert sandbox.wait_drained(90), sandbox.agent_log()
    sandbox.stop_agents()
    assert kills >= 2
    assert span_table(receiver) == reference  # every span, each with the same content however often it came


def test_ten_concurrent_sessions_never_tear_or_interleave_records(
    tmp_path: Path, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    spool.ensure_layout(sandbox.paths)
    sessions = _ten_sessions(tmp_path)
    # No agent takes records while the hooks run (we hold its lock), so every record can be checked afterwards.
    lock = os.open(lock_path(str(sandbox.state_dir)), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        assert _send_concurrently(sandbox, sessions) == []
    finally:
        os.close(lock)
    sent = sorted(payload for events in sessions for payload in events)
    names = sandbox.pending()
    got = sorted(spool.decode(spool.read_record(sandbox.paths, name))[1] for name in names)
    assert len(got) == len(sent)
    assert got == sent  # byte for byte: nothing torn, nothing interleaved, nothing altered
    # Per session, the spool order is the order the session sent its events in.
    order: dict[str, list[bytes]] = {}
    for name in names:
        payload = spool.decode(spool.read_record(sandbox.paths, name))[1]
        order.setdefault(json.loads(payload)["session_id"], []).append(payload)
    assert sorted(order.values()) == sorted(sessions)

    # And the agent makes every session of them into spans, with no dead letter.
    sandbox.start_agent()
    assert sandbox.wait_drained(60), sandbox.agent_log()
    sandbox.stop_agents()
    assert sandbox.dead_letters() == []
    exported = {span_attributes(span).get(sc.SESSION_ID) for span in receiver.spans()}
    assert {json.loads(events[0])["session_id"] for events in sessions} <= exported


def test_ten_concurrent_sessions_while_the_agent_consumes(
    tmp_path: Path, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    """hook.sh writes records in place: the agent, reading at the same time, must never take one half written."""
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    sessions = _ten_sessions(tmp_path)
    assert _send_concurrently(sandbox, sessions) == []
    assert sandbox.wait_drained(60), sandbox.agent_log()
    sandbox.wait_agent()
    sandbox.stop_agents()
    assert sandbox.dead_letters() == []
    assert sandbox.status()["last_report"]["records_processed"] == sum(len(events) for events in sessions)
    per_session = Counter(span_attributes(span).get(sc.SESSION_ID) for span in receiver.spans())
    counts = {per_session[json.loads(events[0])["session_id"]] for events in sessions}
    assert len(counts) == 1 and counts.pop() > 10  # ten copies of one session: the same spans each


def _send_concurrently(sandbox: Sandbox, sessions: list[list[bytes]]) -> list[str]:
    """Each session from its own thread, its events in order, sessions taking turns at each hook there is."""
    failures: list[str] = []
    threads = [
        threading.Thread(target=_send_all, args=(sandbox, events, HOOK_VARIANTS[number % len(HOOK_VARIANTS)], failures))
        for number, events in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return failures


def _backlog_at_most(sandbox: Sandbox, records: int) -> bool:
    return len(sandbox.pending()) <= records


def _ten_sessions(tmp_path: Path) -> list[list[bytes]]:
    """Ten copies of the main fixture session, some events padded to 200 KB so that writes are many pages."""
    copies = [[payload for _, payload in events] for events in _copies("main", 10, tmp_path / "transcripts")]
    padded: list[list[bytes]] = []
    for number, events in enumerate(copies):
        session: list[bytes] = []
        for index, payload in enumerate(events):
            if (index + number) % 7 == 0:
                data = json.loads(payload)
                data["padding"] = f"{number:02d}" * 100_000
                payload = json.dumps(data).encode()
            session.append(payload)
        padded.append(session)
    return padded


def _copies(name: str, count: int, transcripts: Path) -> list[list[tuple[int, bytes]]]:
    from reliability.synthetic import SessionTemplate

    template = SessionTemplate(name)
    return [template.copy(time.time_ns(), transcripts, unique_transcripts=True) for _ in range(count)]


def _send_all(sandbox: Sandbox, events: list[bytes], variant: str, failures: list[str]) -> None:
    for payload in events:
        result = sandbox.hook(payload, variant=variant)
        if result.returncode != 0 or result.stdout:
            failures.append(f"hook exited {result.returncode} with stdout {result.stdout[:100]!r}")
