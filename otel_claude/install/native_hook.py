"""The compiled fast-path hook (otel_claude/hook.c), built by `install` with the machine's C compiler.

Claude Code runs every hook as `/bin/sh -c COMMAND` and waits for it on every event. A `true` hook costs that
shell alone; hook.sh adds a bash start and a `cat`, the compiled hook one exec of a small static binary
(benchmarks/bench_hook_latency.py prints each beside `true`). It does what hook.sh does, step for step, and hands
every unusual case to hook.py, which lies beside it.

Built once per content of hook.c, into the package directory beside hook.sh and hook.py, under a name that holds
the source's hash (an upgrade that changes hook.c builds a new one; a settings file still naming the old one keeps
working). Before it is used, the binary must spool a record exactly as the agent reads it, in a scratch state dir.
With no compiler, a read-only package directory or a failed check, install registers hook.sh instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time

import otel_claude

_log = logging.getLogger(__name__)
SOURCE = "hook.c"
COMPILE_TIMEOUT_S = 120
CHECK_TIMEOUT_S = 10
# Static first: no dynamic loader at each start (about a third of the binary's own start-up); any libc otherwise.
FLAG_SETS = (("-O2", "-static"), ("-O2",))


def package_dir() -> str:
    return os.path.dirname(os.path.abspath(otel_claude.__file__))


def binary_path(directory: str | None = None) -> str | None:
    """Where the binary for the current hook.c lives (built or not); None when hook.c is missing."""
    directory = directory or package_dir()
    try:
        with open(os.path.join(directory, SOURCE), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    except OSError:
        return None
    return os.path.join(directory, f"hook.{digest}.bin")


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def ensure_built(directory: str | None = None, cc: str | None = None) -> tuple[str | None, str]:
    """(the compiled hook's path, or None; a sentence saying which and why), building it when needed."""
    directory = directory or package_dir()
    target = binary_path(directory)
    if target is None:
        return None, f"{SOURCE} is missing from {directory}"
    if os.path.isfile(target) and os.access(target, os.X_OK):
        return target, f"compiled {SOURCE} ({target})"
    cc = cc or compiler()
    if cc is None:
        return None, "no C compiler (cc) on PATH"
    problem = "not built"
    for flags in FLAG_SETS:
        problem = _build(cc, flags, os.path.join(directory, SOURCE), target)
        if not problem:
            return target, f"compiled {SOURCE} ({target})"
    return None, problem


def _build(cc: str, flags: tuple[str, ...], source: str, target: str) -> str:
    """Compiles into a temporary file beside `target`, checks it, then renames it into place (two installs at once
    each build their own and the last rename wins; both are the same). Returns the problem, or ""."""
    try:
        fd, scratch = tempfile.mkstemp(prefix=".hook-build-", dir=os.path.dirname(target))
    except OSError as error:
        return f"cannot write beside {SOURCE}: {error}"
    os.close(fd)
    try:
        try:
            done = subprocess.run(
                [cc, *flags, "-std=c11", "-Wall", "-o", scratch, source],
                capture_output=True,
                text=True,
                timeout=COMPILE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{cc} failed: {error}"
        if done.returncode != 0:
            return f"{cc} {' '.join(flags)} failed: {(done.stderr or done.stdout).strip()[-500:]}"
        os.chmod(scratch, 0o755)  # every user's hook may run it (install --managed)
        problem = check(scratch)
        if problem:
            return problem
        os.replace(scratch, target)
        return ""
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


def check(binary: str) -> str:
    """Runs `binary` as Claude Code would, in a scratch state dir with a live-looking agent: it must exit 0
    silently and leave exactly one whole record holding stdin. Returns the problem, or ""."""
    from otel_claude.handoff import spool  # the agent's own reader judges the record

    payload = b'{"hook_event_name": "SessionStart", "session_id": "install-check"}'
    with tempfile.TemporaryDirectory(prefix="otel-claude-hook-check-") as state_dir:
        where = spool.SpoolPaths(state_dir)
        spool.ensure_layout(where)
        spool.write_heartbeat(where, time.time() + 3600, 1 << 20)
        lock = os.path.join(state_dir, "agent.lock")
        lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.write(lock_fd, f"{os.getpid()} {lock_fd}\n".encode())  # this process stands in for the agent
            try:
                done = subprocess.run(
                    [binary, "/nonexistent/python", state_dir],
                    input=payload,
                    capture_output=True,
                    timeout=CHECK_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return f"the compiled hook did not run: {error}"
            names = spool.pending_names(where)
            records = [spool.decode(spool.read_record(where, name)) for name in names]
        finally:
            os.close(lock_fd)
    if (done.returncode, done.stdout, done.stderr) != (0, b"", b""):
        return f"the compiled hook exited {done.returncode} with output {done.stdout[:200]!r} {done.stderr[:200]!r}"
    if [record[1] for record in records] != [payload]:
        return f"the compiled hook spooled {len(records)} records, not the one it was given"
    return ""
