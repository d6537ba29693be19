"""A crowded or hostile machine (issue 12): another local user plants FIFOs and links where we keep files, fakes our
agent with a reused pid, the agent hangs or dies, ports collide, snapshots rot. Nothing hangs, nothing grows without
bound, no record waits behind a bad one, and the agent is never lost.

Where ownership matters the attacker is a real second user: the test creates it with useradd and runs its
processes with setpriv (CI runs as root).
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver

from otel_claude.handoff import agent_lock, spool
from reliability.harness import HOOK_VARIANTS, Sandbox, wait_for

pytestmark = pytest.mark.integration


def _event(session: str, name: str = "Notification", **fields: object) -> bytes:
    body: dict[str, object] = {
        "session_id": session,
        "transcript_path": f"/nonexistent/{session}.jsonl",
        "cwd": "/tmp",
        "hook_event_name": name,
    }
    if name == "Notification":
        body.update(message="m", notification_type="idle_prompt")
    body.update(fields)
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def other_user() -> Iterator[pwd.struct_passwd]:
    """A second local user, made for this module and removed after it."""
    if os.getuid() != 0 or not shutil.which("useradd") or not shutil.which("setpriv"):
        pytest.skip("needs root, useradd and setpriv to create a second user")
    name = f"occ-h12-{os.getpid()}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True, timeout=30)
    try:
        yield pwd.getpwnam(name)
    finally:
        # userdel refuses while a process of the user runs (an impostor a test started): end them first.
        subprocess.run(["pkill", "-KILL", "-u", name], timeout=30, check=False)
        deadline = time.monotonic() + 30
        while subprocess.run(["userdel", name], timeout=30, check=False, capture_output=True).returncode not in (0, 6):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not remove the test user {name}")
            time.sleep(0.2)


def as_user(user: pwd.struct_passwd, *argv: str) -> list[str]:
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *argv]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A world-writable sticky dir like /tmp, where every user may create entries first."""
    path = Path(tempfile.mkdtemp(prefix="h12-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- 1. nothing we do not own blocks or follows a link ---------------------------------------------------------


@pytest.mark.parametrize("plant", ["fifo", "link-to-dev-zero"])
def test_another_users_fallback_dir_never_hangs_the_agent_or_status(
    plant: str,
    other_user: pwd.struct_passwd,
    shared_tmp: Path,
    receiver: OtlpReceiver,
    make_sandbox: Callable[..., Sandbox],
) -> None:
    fallback = shared_tmp / f"otel-claude-{os.getuid()}"
    what = f"mkfifo {fallback}/drops.log" if plant == "fifo" else f"ln -s /dev/zero {fallback}/drops.log"
    subprocess.run(as_user(other_user, "sh", "-c", f"mkdir -m 755 {fallback} && {what}"), check=True, timeout=10)
    box = make_sandbox(endpoint=receiver.endpoint, XDG_RUNTIME_DIR=str(shared_tmp))
    for index in range(20):
        assert box.hook(_event(f"s{index % 3}")).returncode == 0
    assert box.wait_drained(30), "the agent hung on the planted drops.log"
    started = time.monotonic()
    result = box.cli("status", "--json", "--state-dir", str(box.state_dir), timeout=20)
    assert result.returncode == 0 and time.monotonic() - started < 15
    assert json.loads(result.stdout)["dropped_records"] == 0  # the foreign dir's "drops" are not ours to count


def test_hook_sh_fallback_does_not_follow_a_symlinked_dir(
    other_user: pwd.struct_passwd, shared_tmp: Path, make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """hook.sh counts a failed write in the fallback dir; a symlink planted there is not written through."""
    target = shared_tmp / "attacker-owned"
    subprocess.run(as_user(other_user, "mkdir", "-m", "777", str(target)), check=True, timeout=10)
    (shared_tmp / f"otel-claude-{os.getuid()}").symlink_to(target)
    box = make_sandbox(XDG_RUNTIME_DIR=str(shared_tmp))
    spool.ensure_layout(box.paths)
    # Every write into the state dir fails (no space on /dev/full), so hook.sh falls back to the fallback dir.
    os.symlink("/dev/full", box.paths.drops_log)
    spool.write_heartbeat(box.paths, time.time() + 600, 1 << 30)  # an agent vouches: hook.sh takes its fast path
    os.rmdir(box.paths.new_dir)
    os.symlink("/dev/full", box.paths.new_dir)  # not a dir: the record's redirection fails
    fd = os.open(box.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # an agent "runs": the hook starts none
    try:
        assert box.hook(_event("s")).returncode == 0
    finally:
        os.close(fd)
    assert list(target.iterdir()) == []


def test_fifo_at_a_subagent_meta_path_is_no_poison_pill(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    transcript = tmp_path / "project" / "sess.jsonl"
    (transcript.parent / "sess" / "subagents").mkdir(parents=True)
    transcript.write_text("")
    os.mkfifo(transcript.parent / "sess" / "subagents" / "agent-a1.meta.json")
    box = make_sandbox(endpoint=receiver.endpoint)
    fields = {"transcript_path": str(transcript)}
    box.hook(_event("sess", "SessionStart", source="startup", **fields))
    box.hook(_event("sess", "SubagentStart", agent_id="a1", agent_type="general-purpose", **fields))
    for index in range(5):
        box.hook(_event(f"other{index}"))
    assert box.wait_drained(30), "the agent hung on the FIFO"
    assert box.dead_letters() == []  # the meta file is optional: the subagent is processed without it


def test_a_torn_record_and_a_directory_are_dead_lettered_once_and_hold_nothing_up(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    box = make_sandbox(endpoint=receiver.endpoint)
    spool.ensure_layout(box.paths)
    gone = subprocess.Popen(["true"])
    gone.wait()
    now = time.time_ns()
    # hook.sh killed mid-write: a header and half a payload, its writer gone; and a directory with a record's name.
    Path(box.paths.new_dir, f"{now:020d}-{gone.pid:07d}-00001.rec").write_bytes(b'OCR2 1\n{"session_id": "torn"')
    Path(box.paths.new_dir, f"{now + 1:020d}-0000001-00002.rec").mkdir()
    started = time.monotonic()
    for index in range(5):
        box.hook(_event(f"behind{index}"))
    assert box.wait_drained(20)
    assert time.monotonic() - started < 20  # not the 30 s grace of a record still being written
    time.sleep(3)  # more passes of the agent: nothing is dead-lettered again
    reasons = sorted(entry["reason"] for entry in box.dead_letters())
    assert reasons == ["incomplete", "unreadable"], reasons


def test_a_record_whose_writer_is_stopped_holds_back_only_its_own_session(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    box = make_sandbox(endpoint=receiver.endpoint)
    spool.ensure_layout(box.paths)
    writer = subprocess.Popen(["sleep", "120"])  # alive, ours, never finishing its record: a stopped hook.sh
    try:
        torn = f"{time.time_ns():020d}-{writer.pid:07d}-00001.rec"
        Path(box.paths.new_dir, torn).write_bytes(b'OCR2 1\n{"session_id": "stalled", "hook_event_name": "Notif')
        started = time.monotonic()
        for index in range(5):
            box.hook(_event(f"other{index}"))
        box.hook(_event("stalled"))  # the stalled session's next event keeps its place behind the torn record
        assert wait_for(lambda: len(box.pending()) == 2, 20), box.pending()
        assert time.monotonic() - started < 20  # the other sessions did not wait out the 30 s grace
        assert box.pending()[0] == torn
        assert box.dead_letters() == []
    finally:
        writer.kill()
        writer.wait()
    assert box.wait_drained(20)  # its writer gone, the torn record is dead-lettered and its session flows again
    assert [entry["reason"] for entry in box.dead_letters()] == ["incomplete"]


# --- 2. the agent's identity is checked, not guessed ------------------------------------------------------------


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_a_foreign_process_with_our_agents_pid_and_argv_does_not_strand_records(
    variant: str, other_user: pwd.struct_passwd, receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    impostor = subprocess.Popen(as_user(other_user, "bash", "-c", "sleep 60; :", "otel-claude", "agent"))
    try:
        assert wait_for(lambda: b"otel-claude\0agent" in Path(f"/proc/{impostor.pid}/cmdline").read_bytes(), 10)
        box = make_sandbox(endpoint=receiver.endpoint)
        spool.ensure_layout(box.paths)
        # The lock file still names a dead agent's pid (and its lock fd), now reused by the other user's process.
        Path(box.paths.lock).write_text(f"{impostor.pid} 0\n")
        for index in range(5):
            assert box.hook(_event(f"s{index}"), variant=variant).returncode == 0
        assert box.wait_drained(30), "records stranded: the impostor was taken for our agent"
        assert box.agent_pid() not in (None, impostor.pid)
    finally:
        impostor.kill()
        impostor.wait(10)


# --- 3. every growth bounded ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", HOOK_VARIANTS)
def test_spool_bound_holds_with_no_healthy_agent_and_counts_disk_use(
    variant: str, make_sandbox: Callable[..., Sandbox]
) -> None:
    bound = 64 * 4096
    box = make_sandbox(OTEL_CLAUDE_SPOOL_MAX_BYTES=str(bound))
    spool.ensure_layout(box.paths)
    fd = os.open(box.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a hung agent: it holds the lock and keeps no full marker
    try:
        sent = 100
        for index in range(sent):
            assert box.hook(_event(f"s{index}"), variant=variant).returncode == 0
    finally:
        os.close(fd)
    on_disk = sum(spool.iter_sizes(box.paths))
    accepted = len(box.pending())
    assert on_disk <= bound + 4096, on_disk  # 100 small records are 25 KB by size and 400 KB on disk
    assert accepted < sent
    assert Path(box.paths.drops_log).read_text().count("\n") == sent - accepted


# --- 4. restarts are clean ---------------------------------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_stop_returns_once_the_agent_is_gone_and_the_next_hook_starts_one_with_metrics(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    box = make_sandbox(endpoint=receiver.endpoint)
    box.hook(_event("s"))
    first = box.wait_agent()
    assert box.cli("stop", "--state-dir", str(box.state_dir)).returncode == 0
    assert _gone(first)
    box.hook(_event("s"))
    second = box.wait_agent()
    assert second != first
    assert wait_for(lambda: (box.status().get("last_report") or {}).get("pid") == second, 15)
    endpoints = box.status()["last_report"]["endpoints"]
    assert endpoints["prometheus"], "the new agent runs without /metrics"


def test_an_agent_that_cannot_bind_its_port_says_so_and_retries(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    box = make_sandbox(endpoint=receiver.endpoint)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", box.prometheus_port))
    squatter.listen(1)
    try:
        box.start_agent()

        def report() -> dict[str, object]:
            return dict(box.status().get("last_report") or {})

        assert wait_for(lambda: report().get("prometheus_error"), 15)
        text = box.cli("status", "--state-dir", str(box.state_dir)).stdout
        assert "Prometheus:   NOT SERVING" in text
    finally:
        squatter.close()
    assert wait_for(lambda: box.status()["last_report"]["endpoints"]["prometheus"], 30), "the agent never retried"
    assert report().get("prometheus_error") is None


def test_a_corrupt_snapshot_is_kept_aside_and_reported(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    box = make_sandbox(endpoint=receiver.endpoint)
    spool.ensure_layout(box.paths)
    Path(box.paths.snapshot).write_bytes(b'{"version": 1, "sessions": {"s": tr')
    box.start_agent()
    assert wait_for(lambda: (box.status().get("last_report") or {}).get("corrupt_snapshots"), 15)
    kept = box.status()["last_report"]["corrupt_snapshots"]
    assert len(kept) == 1 and Path(kept[0]).read_bytes() == b'{"version": 1, "sessions": {"s": tr'
    assert "unusable snapshot" in box.cli("status", "--state-dir", str(box.state_dir)).stdout
    assert agent_lock.holder_pid(box.paths.lock) is not None


# --- 5. values written into the config file -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["http://collector:4317\nOTEL_TRACES_EXPORTER=none", "http://c:4317\r", "a\x00b"])
def test_install_refuses_a_value_that_would_not_stay_one_line(
    value: str, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from otel_claude.cli.main import main

    config = isolated_home / ".config" / "otel-claude" / "otel-claude.env"
    assert main(["install", "--claude-version", "2.1.330", "--endpoint", value]) == 1
    assert "control character" in capsys.readouterr().err
    assert not config.exists()


def test_a_fifo_as_the_config_file_does_not_hang_the_cli(tmp_path: Path, make_sandbox: Callable[..., Sandbox]) -> None:
    fifo = tmp_path / "otel-claude.env"
    os.mkfifo(fifo)
    box = make_sandbox(OTEL_CLAUDE_CONFIG_FILE=str(fifo))
    result = box.cli("status", "--state-dir", str(box.state_dir), timeout=20)
    assert result.returncode == 0 and "agent:" in result.stdout


def test_spool_bound_holds_once_a_hung_agents_heartbeat_runs_out(
    receiver: OtlpReceiver, make_sandbox: Callable[..., Sandbox]
) -> None:
    """The issue's case: the agent hangs (SIGSTOP), its promise runs out, the hooks keep the bound themselves."""
    bound = 32 * 4096
    box = make_sandbox(endpoint=receiver.endpoint, OTEL_CLAUDE_SPOOL_MAX_BYTES=str(bound))
    agent = box.start_agent()
    assert wait_for(lambda: spool.agent_vouches(box.paths, time.time())[0], 30)
    os.kill(agent.pid, signal.SIGSTOP)
    try:
        until = int(Path(box.paths.heartbeat).read_text().split()[0])
        assert until - time.time() < 60  # the promise is short: within a minute the hooks take over
        assert wait_for(lambda: not spool.agent_vouches(box.paths, time.time())[0], 70, interval=0.5)
        sent = 60
        for index in range(sent):
            assert box.hook(_event(f"s{index}")).returncode == 0
        accepted = len(box.pending())
        assert sum(spool.iter_sizes(box.paths)) <= bound + 4096
        assert accepted < sent and Path(box.paths.drops_log).read_text().count("\n") == sent - accepted
    finally:
        os.kill(agent.pid, signal.SIGCONT)
