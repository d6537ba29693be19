"""The local parts keep to the user: loopback-only sockets, private files, and no symlink followed into someone
else's files (neither a record planted in the spool nor a state dir that is a symlink)."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver, span_attributes

from otel_claude import semconv as sc
from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import lock_path
from reliability.harness import HOOK_VARIANTS, HOOKS, OTEL_CLAUDE, Sandbox, wait_for
from reliability.synthetic import SessionTemplate

pytestmark = pytest.mark.reliability

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
TYPICAL_UMASK = 0o022  # what Claude Code and a login shell usually run hooks with


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        text = ".".join(str(b) for b in raw[::-1])
    else:  # /proc/net/tcp6: four little-endian 32-bit words
        words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
        import ipaddress

        text = str(ipaddress.IPv6Address(b"".join(words)))
    return text, int(port, 16)


def listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every socket of `pid` that listens (TCP) or is bound (UDP)."""
    inodes = _socket_inodes(pid)
    found = []
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes:
                continue
            if protocol.startswith("tcp") and state != "0A":  # 0A: LISTEN
                continue
            host, port = _address(local)
            found.append((protocol, host, port))
    return found


def with_umask(command: list[str], mask: int = TYPICAL_UMASK) -> list[str]:
    """`command` run under `mask`. (Not preexec_fn: forking a process that runs gRPC threads can abort.)"""
    return ["/bin/sh", "-c", f'umask {mask:03o}; exec "$@"', "sh", *command]


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_agent_listens_on_loopback_only(
    variant: str, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    assert "OTEL_EXPORTER_PROMETHEUS_HOST" not in sandbox.env  # the default is what is checked
    assert sandbox.hook(b'{"session_id": "s", "hook_event_name": "SessionStart"}', variant=variant).returncode == 0
    pid = sandbox.wait_agent()
    assert wait_for(lambda: listening_addresses(pid), 30)
    sockets = listening_addresses(pid)
    assert ("tcp", "127.0.0.1", sandbox.prometheus_port) in sockets  # the Prometheus endpoint: the test can fail
    assert [s for s in sockets if s[1] not in LOOPBACK] == []


def test_state_files_are_private_whatever_the_umask(
    tmp_path: Path, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    paths = sandbox.paths
    events = SessionTemplate("main").copy(time.time_ns(), tmp_path / "transcripts", unique_transcripts=True)

    def hook(variant: str, payload: bytes) -> None:
        command = with_umask(HOOKS[variant](str(sandbox.state_dir)))
        assert subprocess.run(command, input=payload, env=sandbox.env, capture_output=True).returncode == 0

    # Drops first (a full spool, and a lock held so that no agent empties it), through both hooks...
    spool.ensure_layout(paths)
    spool.set_full(paths, True)
    lock = os.open(lock_path(str(sandbox.state_dir)), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        for variant in HOOK_VARIANTS:
            hook(variant, events[0][1])
    finally:
        os.close(lock)
    spool.set_full(paths, False)
    # ...then a session and garbage, which the agent (started by the hooks) turns into spans and a dead letter.
    for index, (_, payload) in enumerate(events):
        hook(HOOK_VARIANTS[index % len(HOOK_VARIANTS)], payload)
    hook("python", b"garbage")
    sandbox.wait_agent()
    assert sandbox.wait_drained(30), sandbox.agent_log()
    sandbox.stop_agents()
    assert len(Path(paths.drops_log).read_text().splitlines()) == len(HOOK_VARIANTS)
    assert len(sandbox.dead_letters()) == 1

    every = [sandbox.state_dir, *sandbox.state_dir.rglob("*")]
    names = {p.name for p in every}
    assert {"drops.log", "dead-letters.jsonl", "agent.log", "state.json", "status.json", "agent.lock"} <= names
    loose = [(str(p), oct(p.lstat().st_mode & 0o777)) for p in every if p.lstat().st_mode & 0o777 not in (0o600, 0o700)]
    assert loose == []
    assert all(p.lstat().st_mode & 0o777 == 0o700 for p in every if stat.S_ISDIR(p.lstat().st_mode))


def test_agent_creates_only_private_files(make_sandbox: Callable[..., Sandbox]) -> None:
    """A foreground agent (a service manager's umask is 022) must still create its files 0600, rotated logs too."""
    sandbox = make_sandbox()
    process = subprocess.Popen(
        with_umask([OTEL_CLAUDE, "agent", "--state-dir", str(sandbox.state_dir)]),
        env=sandbox.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sandbox.agent_pids.add(process.pid)
    try:
        assert wait_for(lambda: sandbox.agent_pid() == process.pid, 30)
        umask = next(
            line for line in Path(f"/proc/{process.pid}/status").read_text().splitlines() if line.startswith("Umask")
        )
        assert umask.split()[1] == "0077"
    finally:
        process.terminate()
        process.wait(30)


def test_symlink_planted_in_the_spool_is_not_followed(
    tmp_path: Path, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(endpoint=receiver.endpoint)
    victim = tmp_path / "someone-elses-file.json"
    secret = json.dumps({"session_id": "stolen-session", "hook_event_name": "SessionStart", "cwd": "/secret"})
    victim.write_text(secret)
    victim.chmod(0o600)
    spooled = sandbox.spool_records([(time.time_ns(), b'{"session_id": "before", "hook_event_name": "Stop"}')])
    link = Path(sandbox.paths.new_dir) / f"{time.time_ns():020d}-0000001-00001.rec"
    link.symlink_to(victim)
    valid = [(time.time_ns() + 1000 + i, json.dumps({"session_id": "after", "hook_event_name": e}).encode())
             for i, e in enumerate(("SessionStart", "SessionEnd"))]  # fmt: skip
    sandbox.spool_records(valid)

    sandbox.start_agent()
    assert sandbox.wait_drained(30), sandbox.agent_log()
    sandbox.stop_agents()
    assert victim.read_text() == secret and victim.exists()  # untouched, not deleted
    letters = {letter["record"]: letter for letter in sandbox.dead_letters()}
    assert letters[link.name]["reason"] == "unreadable"
    assert "stolen" not in letters[link.name]["payload_prefix"]
    sessions = {span_attributes(span).get(sc.SESSION_ID) for span in receiver.spans()}
    assert "stolen-session" not in sessions
    assert "after" in sessions  # the records behind it were processed
    assert spooled[0] not in letters


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
@pytest.mark.parametrize("target_has_spool", [False, True])
def test_symlinked_state_dir_is_refused(
    variant: str, target_has_spool: bool, tmp_path: Path, make_sandbox: Callable[..., Sandbox]
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    if target_has_spool:  # e.g. prepared by whoever planted the link, so that hook.sh's fast path would take it
        for sub in ("spool/new", "spool/tmp"):
            (target / sub).mkdir(parents=True, mode=0o700)
    link = tmp_path / "state-link"
    link.symlink_to(target, target_is_directory=True)
    sandbox = make_sandbox(state_dir=link)
    for _ in range(3):
        result = sandbox.hook(b'{"session_id": "s", "hook_event_name": "Stop"}', variant=variant)
        assert (result.returncode, result.stdout) == (0, b"")
    written = [p for p in target.rglob("*") if p.is_file()]
    assert written == [], "the hook wrote through a symlinked state dir"
    fallback = sandbox.runtime_dir / f"otel-claude-{os.getuid()}" / "drops.log"
    assert len(fallback.read_text().splitlines()) == 3  # refused, and the loss counted
    agent = sandbox.cli("agent", "--state-dir", str(link), timeout=30)
    assert agent.returncode == 1 and "not a plain directory" in agent.stderr
