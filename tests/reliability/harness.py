"""Real otel-claude processes in a sandbox: the hook as install registers it, agents, and Collectors that fail.

Shared by the reliability tests and the benchmarks (benchmarks/ put `tests/` on sys.path). Every sandbox has its
own state dir, runtime dir (where the hook counts losses when the state dir is unusable), config file and ports,
and `close()` stops every agent it started: `otel-claude stop`, then SIGKILL.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from support.otlp_receiver import OtlpReceiver, free_port, span_attributes

import otel_claude
from otel_claude import semconv as sc
from otel_claude.handoff import agent_lock, spool
from otel_claude.install import settings_file as installer

PYTHON = sys.executable
HOOK_FILE = str(Path(otel_claude.__file__).resolve().parent / "hook.py")
OTEL_CLAUDE = str(Path(PYTHON).parent / "otel-claude")


def hook_command(state_dir: str | None = None) -> list[str]:
    """The Python hook as install registers it where bash is missing (and as hook.sh's fallback): no site."""
    command = [PYTHON, "-I", "-S", HOOK_FILE]
    return [*command, "--state-dir", state_dir] if state_dir else command


def registered_hook_command(state_dir: str) -> list[str]:
    """Exactly the command `otel-claude install` writes into settings.json here (the compiled hook where cc exists)."""
    return shlex.split(installer.hook_command(state_dir))


def shell_hook_command(state_dir: str) -> list[str]:
    """hook.sh, as install registers it where no compiled hook can be built."""
    return shlex.split(installer.hook_command(state_dir, "shell"))


HOOKS: dict[str, Callable[[str], list[str]]] = {
    "registered": registered_hook_command,
    "shell": shell_hook_command,
    "python": hook_command,
}
# Every hook a user may run: each case that depends on the hook runs with each.
HOOK_VARIANTS = tuple(HOOKS)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Polls `predicate` until it is truthy or `timeout` passes; never a bare sleep."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class BlackholeServer:
    """A TCP port that accepts connections and never answers: a Collector that hangs."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)  # keep it open, read nothing, write nothing

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self._sock.close()


class GatedOtlpReceiver(OtlpReceiver):
    """An OTLP receiver that records the `hold_export`-th trace export (1-based) and then withholds the reply.

    The agent then sits between "the Collector has the spans" and "the export succeeded": the window in which a
    crash makes the batch in flight be delivered twice.
    """

    def __init__(self, hold_export: int = 2, port: int | None = None) -> None:
        super().__init__(port)
        self.hold_export = hold_export
        self.held = threading.Event()  # set once that export is being withheld
        self.held_request_index: int | None = None
        self._release = threading.Event()

    def _record(self, signal: str, request: Any) -> None:
        super()._record(signal, request)
        if signal != "traces":
            return
        with self._lock:
            index = len(self.trace_requests) - 1
            hold = index + 1 == self.hold_export
            if hold:
                self.held_request_index = index
        if hold:
            self.held.set()
            self._release.wait(60)

    def held_span_ids(self) -> set[int]:
        with self._lock:
            if self.held_request_index is None:
                return set()
            request = self.trace_requests[self.held_request_index]
        return {
            int.from_bytes(span.span_id, "big")
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        }

    def stop(self) -> None:
        self._release.set()
        super().stop()


def production_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any OTEL_* (the developer's shell must not leak in) and without the
    test suite's OTEL_CLAUDE_DEBUG: these tests check what users get, where errors are swallowed."""
    source = os.environ if base is None else base
    return {key: value for key, value in source.items() if not key.startswith("OTEL_")}


class Sandbox:
    """One user's otel-claude: state dir, env, and the agents started in it."""

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        endpoint: str | None = None,
        state_dir: str | Path | None = None,
        **extra_env: str,
    ) -> None:
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="otel-claude-rel-"))
        self.state_dir = Path(state_dir) if state_dir else self.root / "state"
        self.runtime_dir = self.root / "run"
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.prometheus_port = free_port()
        self.env = production_environ()
        self.env.update(
            {
                "OTEL_CLAUDE_STATE_DIR": str(self.state_dir),
                "OTEL_CLAUDE_CONFIG_FILE": str(self.root / "no-config.env"),
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint or f"http://127.0.0.1:{free_port()}",
                "OTEL_EXPORTER_PROMETHEUS_PORT": str(self.prometheus_port),
                "OTEL_METRIC_EXPORT_INTERVAL": "1000",
                # A backstop: an agent this sandbox forgot to stop exits on its own once idle.
                "OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS": "120",
            }
        )
        self.env.update(extra_env)
        self._foreground: list[subprocess.Popen[bytes]] = []
        self.agent_pids: set[int] = set()

    @property
    def paths(self) -> spool.SpoolPaths:
        return spool.SpoolPaths(str(self.state_dir))

    # --- the hook ---------------------------------------------------------------------------------

    def hook(
        self,
        payload: bytes,
        *,
        variant: str = "registered",
        state_dir: str | None = None,
        timeout: float = 20,
        stdin: int | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """One hook call: `variant` "registered" (what install writes: the compiled hook here), "shell" (hook.sh) or
        "python" (hook.py)."""
        command = HOOKS[variant](state_dir or str(self.state_dir))
        if stdin is None:
            result = subprocess.run(command, input=payload, capture_output=True, timeout=timeout, env=self.env)
        else:
            result = subprocess.run(command, stdin=stdin, capture_output=True, timeout=timeout, env=self.env)
        self._remember_agent()
        return result

    # --- the agent --------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OTEL_CLAUDE, *args], capture_output=True, text=True, timeout=timeout, env=self.env, check=False
        )

    def start_agent(self) -> subprocess.Popen[bytes]:
        """A foreground `otel-claude agent`; returns once it holds the lock (or raises)."""
        # stderr to a file, not a pipe: a foreground agent logs there too, and a full pipe would block it.
        with open(self.root / "agent-stderr.log", "ab") as stderr:
            process = subprocess.Popen(
                [OTEL_CLAUDE, "agent", "--state-dir", str(self.state_dir)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._foreground.append(process)
        if not wait_for(lambda: self.agent_pid() == process.pid or process.poll() is not None, 30):
            raise AssertionError("the agent did not take its lock within 30 s")
        if process.poll() is not None:
            stderr_text = (self.root / "agent-stderr.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"the agent exited with {process.returncode}: {stderr_text}")
        self.agent_pids.add(process.pid)
        return process

    def agent_pid(self) -> int | None:
        return agent_lock.holder_pid(agent_lock.lock_path(str(self.state_dir)))

    def _remember_agent(self) -> None:
        pid = self.agent_pid()
        if pid:
            self.agent_pids.add(pid)

    def wait_agent(self, timeout: float = 30) -> int:
        if not wait_for(self.agent_pid, timeout):
            raise AssertionError(f"no agent runs in {self.state_dir} after {timeout} s:\n{self.agent_log()}")
        pid = self.agent_pid()
        assert pid is not None
        self.agent_pids.add(pid)
        return pid

    def kill_agent(self) -> int:
        """SIGKILL, as a crash or the OOM killer would; returns the pid."""
        pid = self.wait_agent()
        os.kill(pid, signal.SIGKILL)
        for process in self._foreground:
            if process.pid == pid:
                process.wait(10)
        if not wait_for(lambda: self.agent_pid() is None, 10):
            raise AssertionError("the killed agent still holds its lock")
        return pid

    def stop_agents(self, timeout: float = 20) -> None:
        """`otel-claude stop`, then SIGKILL whatever still runs: no agent outlives its test."""
        if self.agent_pid() is not None:
            self.cli("stop", "--state-dir", str(self.state_dir), "--timeout", str(timeout), timeout=timeout + 10)
        self._remember_agent()
        for process in self._foreground:  # our own children: let them finish exiting, then reap them
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        foreground = {process.pid for process in self._foreground}
        for pid in self.agent_pids - foreground:  # agents started by hooks: not our children
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._foreground.clear()
        self.agent_pids.clear()

    def close(self) -> None:
        self.stop_agents()
        if self._own_root:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)

    # --- what the user sees -----------------------------------------------------------------------

    def pending(self) -> list[str]:
        return spool.pending_names(self.paths)

    def wait_drained(self, timeout: float = 60) -> bool:
        return wait_for(lambda: not self.pending(), timeout)

    def status(self, state_dir: str | None = None) -> dict[str, Any]:
        result = self.cli("status", "--json", "--state-dir", state_dir or str(self.state_dir))
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def dead_letters(self) -> list[dict[str, Any]]:
        try:
            text = Path(self.paths.dead_letters).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def agent_log(self) -> str:
        try:
            return (self.state_dir / "agent.log").read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return "<no agent.log>"

    def spool_records(self, records: Iterable[tuple[int, bytes]]) -> list[str]:
        """Writes records straight into the spool, as the hook would (fast setup for many records); their names."""
        spool.ensure_layout(self.paths)
        return [spool.append(self.paths, received_ns, payload) for received_ns, payload in records]


# --- what a Collector received ---------------------------------------------------------------------


def span_counts(receiver: OtlpReceiver) -> Counter[int]:
    """How many times each span id arrived: the unit of "delivered once"."""
    return Counter(int.from_bytes(span.span_id, "big") for span in receiver.spans())


def _span_key(span: Any) -> tuple[Any, ...]:
    attributes = json.dumps(span_attributes(span), sort_keys=True, default=str)
    events = [(event.name, event.time_unix_nano) for event in span.events]
    return (span.name, span.trace_id.hex(), span.parent_span_id.hex(), span.start_time_unix_nano,
            span.end_time_unix_nano, attributes, events, span.status.code)  # fmt: skip


def span_table(receiver: OtlpReceiver) -> dict[int, tuple[Any, ...]]:
    """span id -> what makes the span the same span (name, trace, parent, times, attributes, events, status).

    Raises AssertionError when one span id arrived with different contents: a re-export must be the same span."""
    table: dict[int, tuple[Any, ...]] = {}
    for span in receiver.spans():
        span_id = int.from_bytes(span.span_id, "big")
        key = _span_key(span)
        if table.setdefault(span_id, key) != key:
            raise AssertionError(f"span {span_id:016x} arrived twice with different contents:\n{table[span_id]}\n{key}")
    return table


def session_ids(receiver: OtlpReceiver) -> set[str]:
    return {str(span_attributes(span).get(sc.SESSION_ID)) for span in receiver.spans()}
