"""A full disk, a bounded spool and an unusable state dir: the hook still exits 0 at once, and every loss is
counted and reported by `otel-claude status`.

A full disk is a real tiny tmpfs (this suite runs as root in CI); where mounting is not allowed those tests skip
and the spool bound (OTEL_CLAUDE_SPOOL_MAX_BYTES) and a state dir under a regular file (ENOTDIR, which holds
even for root) still run.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver, free_port

from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import lock_path
from reliability.harness import HOOK_VARIANTS, Sandbox, wait_for

pytestmark = pytest.mark.reliability

EVENT = json.dumps(
    {"session_id": "disk-full-session", "hook_event_name": "Notification", "message": "m", "cwd": "/home/dev/p"}
).encode()
HANG_GUARD_S = 10  # not a performance bound: a hook that blocks this long would stall Claude Code


def _hook_ok(sandbox: Sandbox, payload: bytes = EVENT, variant: str = "registered") -> None:
    result = sandbox.hook(payload, variant=variant, timeout=HANG_GUARD_S)
    assert (result.returncode, result.stdout) == (0, b"")


def _dropped(sandbox: Sandbox) -> int:
    count: int = sandbox.status()["dropped_records"]
    return count


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_tiny_full_filesystem_drops_and_counts(
    variant: str, receiver: OtlpReceiver, tmpfs: Callable[[str], Path], make_sandbox: Callable[..., Sandbox]
) -> None:
    disk = tmpfs("size=1m")
    sandbox = make_sandbox(endpoint=receiver.endpoint, state_dir=disk / "state")
    _hook_ok(sandbox, variant=variant)  # sets the spool up and starts the agent
    # Under MIN_FREE_BYTES free, the disk is left to the user: the agent marks the spool full (hook.sh checks only
    # that marker), and every hook drops its record, counted.
    assert wait_for(lambda: os.path.exists(sandbox.paths.full_marker), 30), sandbox.agent_log()
    kept = len(sandbox.pending())
    dropped = _dropped(sandbox)
    for _ in range(5):
        _hook_ok(sandbox, variant=variant)
    assert len(sandbox.pending()) == kept
    assert _dropped(sandbox) == dropped + 5
    lines = Path(sandbox.paths.drops_log).read_text().splitlines()
    assert [line.split()[-1] for line in lines[-5:]] == ["spool_full"] * 5
    human = sandbox.cli("status", "--state-dir", str(sandbox.state_dir))
    assert f"dropped:      {dropped + 5} records" in human.stdout


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_no_inode_left_drops_to_the_fallback_and_recovers(
    variant: str, tmpfs: Callable[[str], Path], make_sandbox: Callable[..., Sandbox], receiver: OtlpReceiver
) -> None:
    disk = tmpfs("size=100m,nr_inodes=64")  # room in bytes, none in inodes: creating any file gets ENOSPC
    sandbox = make_sandbox(endpoint=receiver.endpoint, state_dir=disk / "state")
    spool.ensure_layout(sandbox.paths)
    lock = os.open(lock_path(str(sandbox.state_dir)), os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # no agent meanwhile: it would need inodes too
    # ...but one that vouches for the spool's bound (its heartbeat), so hook.sh takes its own path, not Python's.
    spool.write_heartbeat(sandbox.paths, time.time() + 600, 1 << 30)
    filler = disk / "filler"
    filler.mkdir()
    try:
        _fill_inodes(filler)
        for _ in range(3):
            _hook_ok(sandbox, variant=variant)
        assert sandbox.pending() == []
        assert not Path(sandbox.paths.drops_log).exists()  # no inode for it either: the fallback counted them
        fallback = sandbox.runtime_dir / f"otel-claude-{os.getuid()}" / "drops.log"
        reason = {"registered": "shell_write_failed", "shell": "shell_write_failed", "python": "OSError"}[variant]
        assert [line.split()[-1] for line in fallback.read_text().splitlines()] == [reason] * 3
        assert _dropped(sandbox) == 3
        for child in filler.iterdir():
            child.unlink()
        _hook_ok(sandbox, variant=variant)  # space again: spooled as usual
        assert len(sandbox.pending()) == 1
    finally:
        os.close(lock)
    sandbox.start_agent()
    assert sandbox.wait_drained(30), sandbox.agent_log()
    sandbox.stop_agents()
    assert sandbox.dead_letters() == []


def _fill_inodes(directory: Path) -> None:
    for number in range(100_000):
        try:
            (directory / str(number)).touch()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            return
    raise AssertionError("the inode limit was never reached")


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
@pytest.mark.parametrize("kind", ["under-a-file", "read-only-fs"])
def test_unusable_state_dir(
    kind: str, variant: str, tmp_path: Path, tmpfs: Callable[[str], Path], make_sandbox: Callable[..., Sandbox]
) -> None:
    if kind == "under-a-file":
        blocker = tmp_path / "a-regular-file"
        blocker.write_text("not a directory")
        state = blocker / "state"  # ENOTDIR, even for root
    else:
        state = tmpfs("ro,size=1m") / "state"  # EROFS
    sandbox = make_sandbox(state_dir=state)
    for _ in range(4):
        _hook_ok(sandbox, variant=variant)
    fallback = sandbox.runtime_dir / f"otel-claude-{os.getuid()}"
    assert len((fallback / "drops.log").read_text().splitlines()) == 4
    assert "could not spool" in (fallback / "hook.log").read_text()
    assert sandbox.agent_pid() is None  # nothing was spooled, so no agent was started
    status = sandbox.status()
    assert status["dropped_records"] == 4
    assert status["spool"] == {"records": 0, "bytes": 0}
    human = sandbox.cli("status", "--state-dir", str(state))
    assert human.returncode == 0 and "dropped:      4 records" in human.stdout


def test_spool_bound_drops_new_records_while_the_collector_is_down(make_sandbox: Callable[..., Sandbox]) -> None:
    port = free_port()
    sandbox = make_sandbox(
        endpoint=f"http://127.0.0.1:{port}", OTEL_CLAUDE_SPOOL_MAX_BYTES="20000", OTEL_EXPORTER_OTLP_TIMEOUT="1"
    )
    payload = json.dumps({**json.loads(EVENT), "pad": "p" * 3000}).encode()
    full = Path(sandbox.paths.full_marker)

    def fill() -> bool:
        _hook_ok(sandbox, payload)
        return full.exists()

    # A session that ends makes a span; the agent (started by the first hook) cannot export it, so it takes no
    # more records and the spool grows until the agent marks it full.
    for event in ("SessionStart", "SessionEnd"):
        _hook_ok(sandbox, json.dumps({"session_id": "ended", "hook_event_name": event}).encode())
    assert wait_for(fill, 60, interval=0.2), sandbox.agent_log()
    accepted = len(sandbox.pending())
    dropped_before = _dropped(sandbox)
    for _ in range(5):
        _hook_ok(sandbox, payload)
    assert len(sandbox.pending()) == accepted  # what was accepted stays; the new ones were dropped
    assert _dropped(sandbox) == dropped_before + 5
    assert all(line.endswith(" spool_full") for line in Path(sandbox.paths.drops_log).read_text().splitlines())

    receiver = OtlpReceiver(port=port).start()
    try:
        assert sandbox.wait_drained(60), sandbox.agent_log()
        assert wait_for(lambda: not full.exists(), 30)  # the agent lifts the bound once it drained the spool
        _hook_ok(sandbox, payload)
        assert wait_for(lambda: not sandbox.pending(), 30)
        sandbox.stop_agents()
        assert receiver.spans(), "nothing accepted reached the Collector"
    finally:
        receiver.stop()
    assert sandbox.dead_letters() == []
    assert sandbox.status()["last_report"]["dropped_records"] >= 5  # the agent reports the losses too
