"""The hook never harms the session: exit 0, empty stdout, whatever it gets and whatever is down."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES
from support.processes import HOOK_KINDS, hook_argv, production_env, run_hook, stop_agent, wait_for

from otel_claude.handoff import spool
from otel_claude.handoff.agent_lock import agent_is_running, lock_path

FORBIDDEN = ("opentelemetry", "grpc", "pydantic", "json", "logging", "subprocess", "google.protobuf")


@pytest.fixture
def hook_env(tmp_path: Path) -> dict[str, str]:
    env = production_env(os.environ)
    env["OTEL_CLAUDE_STATE_DIR"] = str(tmp_path / "state")
    env["OTEL_EXPORTER_PROMETHEUS_PORT"] = "0"  # no endpoint: these tests run many agents
    env["OTEL_TRACES_EXPORTER"] = "none"
    env["OTEL_METRICS_EXPORTER"] = "none"
    # An agent a hook starts after the test's cleanup ran must not outlive the test by an hour.
    env["OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS"] = "3"
    env["OTEL_CLAUDE_SESSION_IDLE_SECONDS"] = "1"
    return env


@pytest.fixture(params=HOOK_KINDS)
def hook_kind(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds for both forms install registers: the bash fast path and the Python hook."""
    return str(request.param)


@pytest.fixture
def agent_cleanup(hook_env: dict[str, str]):  # type: ignore[no-untyped-def]
    yield
    stop_agent(hook_env["OTEL_CLAUDE_STATE_DIR"], hook_env)


def test_hook_path_imports_no_heavy_module(tmp_path: Path, hook_env: dict[str, str]) -> None:
    """Run the hook under -X importtime and check nothing heavy was imported on its path."""
    payload = (FIXTURES / "hooks" / "PreToolUse.json").read_bytes()
    env = {**hook_env}
    # A lock held by us: the hook sees an agent running and starts none, so only its own path is measured.
    state = Path(env["OTEL_CLAUDE_STATE_DIR"])
    state.mkdir(parents=True)
    import fcntl

    fd = os.open(lock_path(str(state)), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = subprocess.run(
            [hook_argv()[0], "-X", "importtime", *hook_argv()[1:]], input=payload, env=env, capture_output=True
        )
    finally:
        os.close(fd)
    assert result.returncode == 0 and result.stdout == b""
    imported = {line.split("|")[-1].strip() for line in result.stderr.decode().splitlines() if "|" in line}
    assert "otel_claude.handoff.spool" in imported  # the trace is real
    for name in imported:
        assert not any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN), f"hook imported {name}"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json at all",
        b'{"hook_event_name": 5}',
        b"\xff\xfe\x00 invalid utf-8 \x00",
        b"[" * 100_000,
        b'{"session_id": "s", "hook_event_name": "BrandNewEvent", "x": {"y": [1, 2]}}',
    ],
    ids=["empty", "garbage", "wrong-type", "invalid-utf8", "deep-nesting", "unknown-event"],
)
@pytest.mark.integration  # starts a real agent
def test_bad_input_exits_zero_silently_and_is_spooled(
    payload: bytes, hook_env: dict[str, str], agent_cleanup: None, hook_kind: str
) -> None:
    if hook_kind != "python":
        run_hook(b"", hook_env)  # the spool's first use goes through Python, which makes the layout
        paths = spool.SpoolPaths(hook_env["OTEL_CLAUDE_STATE_DIR"])
        wait_for(lambda: not spool.pending_names(paths), 30, "the agent to take the first record")
        Path(paths.dead_letters).unlink(missing_ok=True)
    result = run_hook(payload, hook_env, kind=hook_kind)
    assert (result.returncode, result.stdout) == (0, b"")
    paths = spool.SpoolPaths(hook_env["OTEL_CLAUDE_STATE_DIR"])
    dead = Path(paths.dead_letters)
    # The agent takes every record; what it cannot use lands in the dead-letter file with the reason.
    wait_for(lambda: not spool.pending_names(paths), 30, "the agent to take the record")
    if payload.startswith(b'{"session_id"'):
        assert not dead.exists()
    else:
        reasons = [json.loads(line)["reason"] for line in dead.read_text().splitlines()]
        assert len(reasons) == 1 and reasons[0]
    assert agent_is_running(lock_path(paths.root))


@pytest.mark.integration  # starts a real agent
def test_twenty_megabyte_payload(hook_env: dict[str, str], agent_cleanup: None, hook_kind: str) -> None:
    big = json.dumps(
        {"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Read", "tool_use_id": "t",
         "tool_response": {"content": "x" * 20_000_000}}
    ).encode()  # fmt: skip
    result = run_hook(big, hook_env, timeout=60, kind=hook_kind)
    assert (result.returncode, result.stdout) == (0, b"")


def test_unwritable_state_dir_still_exits_zero_and_counts_the_loss(
    tmp_path: Path, hook_env: dict[str, str], hook_kind: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {**hook_env, "OTEL_CLAUDE_STATE_DIR": str(blocker / "state"), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    result = run_hook(b'{"session_id": "s", "hook_event_name": "Stop"}', env, kind=hook_kind)
    assert (result.returncode, result.stdout) == (0, b"")
    drops = (tmp_path / "run" / f"otel-claude-{os.getuid()}" / "drops.log").read_text().splitlines()
    assert len(drops) == 1 and "NotADirectoryError" in drops[0]
    status = subprocess.run(
        [*hook_argv()[:1], "-m", "otel_claude", "status", "--json"], env=env, capture_output=True, text=True
    )
    assert json.loads(status.stdout)["dropped_records"] == 1


@pytest.mark.integration  # starts a real agent
def test_a_tty_on_stdin_is_not_read(hook_env: dict[str, str], agent_cleanup: None, hook_kind: str) -> None:
    primary, secondary = pty.openpty()
    argv = hook_argv(hook_kind, hook_env["OTEL_CLAUDE_STATE_DIR"])
    try:
        result = subprocess.run(argv, stdin=secondary, env=hook_env, capture_output=True, timeout=20)
    finally:
        os.close(primary)
        os.close(secondary)
    assert (result.returncode, result.stdout) == (0, b"")


def test_full_spool_drops_new_records_and_counts_them(hook_env: dict[str, str], hook_kind: str) -> None:
    paths = spool.SpoolPaths(hook_env["OTEL_CLAUDE_STATE_DIR"])
    spool.ensure_layout(paths)
    spool.set_full(paths, True)
    import fcntl

    fd = os.open(lock_path(paths.root), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # an "agent" that never drains
    try:
        for _ in range(3):
            assert run_hook(b'{"session_id": "s", "hook_event_name": "Stop"}', hook_env, kind=hook_kind).returncode == 0
    finally:
        os.close(fd)
    assert spool.pending_names(paths) == []
    assert len(Path(paths.drops_log).read_text().splitlines()) == 3


def test_records_are_whole_and_private(hook_env: dict[str, str], hook_kind: str) -> None:
    paths = spool.SpoolPaths(hook_env["OTEL_CLAUDE_STATE_DIR"])
    spool.ensure_layout(paths)
    import fcntl

    fd = os.open(lock_path(paths.root), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    payloads = [
        f'{{"session_id": "s{i}", "hook_event_name": "Stop", "pad": "{"y" * 70_000}"}}'.encode() for i in range(20)
    ]
    try:
        argv = hook_argv(hook_kind, paths.root)
        procs = [subprocess.Popen(argv, stdin=subprocess.PIPE, env=hook_env) for _ in payloads]
        for proc, payload in zip(procs, payloads, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(payload)
            proc.stdin.close()
        assert all(proc.wait(30) == 0 for proc in procs)
    finally:
        os.close(fd)
    names = spool.pending_names(paths)
    got = sorted(spool.decode(spool.read_record(paths, name))[1] for name in names)
    assert got == sorted(payloads)
    for name in names:
        assert os.stat(os.path.join(paths.new_dir, name)).st_mode & 0o777 == 0o600
    assert os.stat(paths.root).st_mode & 0o777 == 0o700


def test_stdin_that_is_a_socket_as_claude_code_gives_it(hook_env: dict[str, str], hook_kind: str) -> None:
    """Claude Code (node) hands hooks a socket, not a pipe: the record must still be whole."""
    import fcntl
    import socket

    paths = spool.SpoolPaths(hook_env["OTEL_CLAUDE_STATE_DIR"])
    spool.ensure_layout(paths)
    fd = os.open(lock_path(paths.root), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    payload = (FIXTURES / "hooks" / "PostToolBatch.json").read_bytes()
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen(hook_argv(hook_kind, paths.root), stdin=theirs, stdout=subprocess.PIPE, env=hook_env)
        theirs.close()
        ours.sendall(payload)
        ours.shutdown(socket.SHUT_WR)
        out, _ = proc.communicate(timeout=30)
    finally:
        ours.close()
        os.close(fd)
    assert (proc.returncode, out) == (0, b"")
    (name,) = spool.pending_names(paths)
    assert spool.decode(spool.read_record(paths, name))[1] == payload
