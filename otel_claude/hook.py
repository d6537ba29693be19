"""`otel-claude hook`: the command Claude Code runs on every event. It must never harm the session.

It reads stdin (not from a TTY), stamps the receive time, hands the bytes to the spool, makes sure an agent
runs, prints nothing and exits 0, whatever happens. It imports only `os`, `sys`, `time` and `fcntl` and this
package's standard-library modules: no json, no logging, no subprocess, no OpenTelemetry, no pydantic.
`otel-claude install` registers it as `python -I -S <this file>`, which skips `site` and the CLI entirely.
"""

from __future__ import annotations

import os
import sys
import time

if __package__ in (None, ""):
    # Run as a file with -I -S: make this package importable without site-packages.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from otel_claude.handoff import env, paths, spool
from otel_claude.handoff.agent_lock import agent_is_running, lock_path
from otel_claude.handoff.launcher import spawn_agent

HOOK_LOG_MAX_BYTES = 1 << 20
_READ_CHUNK = 1 << 20


def _read_stdin() -> bytes:
    try:
        if os.isatty(0):
            return b""
    except OSError:
        return b""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(0, _READ_CHUNK)
        except InterruptedError:
            continue
        except BlockingIOError:  # a non-blocking stdin: wait for the rest rather than hand over a part
            import select

            select.select([0], [], [])
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _log(state_dir: str, message: str) -> None:
    """One line in the hook's own log file (never stdout); rotated at 1 MiB, one old file kept."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} pid={os.getpid()} {message}\n".encode("utf-8", "replace")
    for directory in (state_dir, paths.fallback_dir()):
        path = paths.StatePaths(directory).hook_log
        try:
            os.makedirs(directory, mode=paths.DIR_MODE, exist_ok=True)
            if not paths.is_own_dir(directory):
                continue  # a symlinked or foreign state dir was refused; no write through it either
            try:
                if os.lstat(path).st_size > HOOK_LOG_MAX_BYTES:
                    os.replace(path, path + ".1")
            except FileNotFoundError:
                pass
            paths.append_bytes(path, line)
            return
        except OSError:
            continue


def state_dir_from_argv(argv: list[str]) -> str | None:
    """`--state-dir DIR`, which install writes into the command: Claude Code strips OTEL_* from hooks."""
    for index, arg in enumerate(argv):
        if arg == "--state-dir" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--state-dir="):
            return arg.split("=", 1)[1]
    return None


def _configured_spool_bound() -> int:
    return env.get_int(env.effective_environment(), env.OTEL_CLAUDE_SPOOL_MAX_BYTES, env.DEFAULT_SPOOL_MAX_BYTES)


def run(received_ns: int, payload: bytes, state: str) -> None:
    """Spools one record and makes sure an agent runs. Raises on failure; `main` decides what that means."""
    where = spool.SpoolPaths(state)
    try:
        spool.ensure_layout(where)
        if not spool.has_room(where, len(payload), _configured_spool_bound):
            spool.record_drop(where, paths.fallback_dir(), received_ns, len(payload), "spool_full")
            _log(state, f"dropped a record of {len(payload)} bytes: the spool is full")
        else:
            spool.append(where, received_ns, payload)
    except OSError as exc:
        spool.record_drop(where, paths.fallback_dir(), received_ns, len(payload), type(exc).__name__)
        _log(state, f"could not spool a record of {len(payload)} bytes: {exc!r}")
        return
    if not agent_is_running(lock_path(state)):
        spawn_agent(state)


def ensure_agent(state: str) -> None:
    """Only makes sure an agent runs (hook.sh's fallback when it finds none): nothing is read or spooled."""
    spool.ensure_layout(spool.SpoolPaths(state))
    if not agent_is_running(lock_path(state)):
        spawn_agent(state)


def main(argv: list[str] | None = None) -> int:
    received_ns = time.time_ns()
    debug = os.environ.get(env.OTEL_CLAUDE_DEBUG) == "1"
    state = ""
    try:
        args = sys.argv[1:] if argv is None else argv
        state = state_dir_from_argv(args) or env.state_dir()
        if "--ensure-agent" in args:
            ensure_agent(state)
            return 0
        payload = _read_stdin()
        run(received_ns, payload, state)
    except BaseException as exc:  # never harm the session: log, exit 0
        if debug:
            raise
        try:
            _log(state or paths.fallback_dir(), f"hook failed: {exc!r}")
        except BaseException:
            pass
    return 0


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # only reached with OTEL_CLAUDE_DEBUG=1
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(0)  # skip interpreter teardown: it costs time and can print nothing useful
