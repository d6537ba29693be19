"""Starting and stopping the agent process: lock, logging, providers, signals."""

from __future__ import annotations

import logging
import logging.handlers
import os
import select
import signal
import sys
import time

from otel_claude import config as config_module
from otel_claude import gc_tuning
from otel_claude.handoff import agent_lock, env, paths, spool

_log = logging.getLogger(__name__)
LOG_MAX_BYTES = 5 * 1024 * 1024
STARTUP_HEARTBEAT_S = 20.0


def _setup_logging(state_dir: str, *, to_stderr: bool, debug: bool) -> None:
    log_file = paths.StatePaths(state_dir).agent_log
    os.close(paths.open_append(log_file))  # refuses a FIFO or a link there before logging opens it
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=LOG_MAX_BYTES, backupCount=2, encoding="utf-8")
    handlers: list[logging.Handler] = [handler]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    os.chmod(log_file, paths.FILE_MODE)


def yield_cpu(niceness: int) -> None:
    """Raises this process's niceness to `niceness` (never lowers it: a service manager's higher value stays), so
    that the agent's work waits for Claude Code's on a busy machine rather than slowing the session."""
    try:
        current = os.nice(0)
        if niceness > current:
            os.nice(niceness - current)
    except OSError:
        pass  # a platform or sandbox that refuses it: the agent runs as started


def run_agent(*, background: bool, state_dir: str | None = None) -> int:
    # Everything the agent creates is private, whatever umask it was started with (a service manager's is 022):
    # files it opens itself say 0600, but a rotated log file takes the umask.
    os.umask(0o077)
    if state_dir:
        os.environ[env.OTEL_CLAUDE_STATE_DIR] = state_dir
    config_module.apply_standard_variables()
    config = config_module.load()
    yield_cpu(config.agent_nice)
    try:
        spool.ensure_layout(spool.SpoolPaths(config.state_dir))
    except OSError as exc:
        print(f"otel-claude agent: cannot use the state dir {config.state_dir}: {exc}", file=sys.stderr)
        return 1
    lock_fd = agent_lock.acquire(agent_lock.lock_path(config.state_dir))
    if lock_fd is None:
        if not background:
            pid = agent_lock.holder_pid(agent_lock.lock_path(config.state_dir))
            print(f"otel-claude agent: an agent already runs (pid {pid})", file=sys.stderr)
            return 1
        return 0
    # Hooks take their fast path only while an agent vouches for the spool's bound: vouch from the start, briefly,
    # (the SDK imports take seconds on a busy machine); the loop's first scan follows and renews it.
    try:
        where = spool.SpoolPaths(config.state_dir)
        spool.write_heartbeat(where, time.time() + STARTUP_HEARTBEAT_S, config.spool_max_bytes)
    except OSError:
        pass
    _setup_logging(config.state_dir, to_stderr=not background, debug=config.debug)
    for problem in config.problems:
        _log.warning("ignoring %s=%r: not valid, using %s", problem.name, problem.value, problem.default)
    from otel_claude.agent.loop import Agent
    from otel_claude.export.providers import build
    from otel_claude.live.usage import usage_tracker_factory

    providers = build(config)
    agent = Agent(config, providers, usage_tracker_factory(config))
    agent.install_signal_handlers()
    gc_tuning.start_up_done()  # what start-up made lives as long as the agent
    _log.info(
        "agent %s started: state %s, OTLP %s, Prometheus %s",
        os.getpid(),
        config.state_dir,
        config.otlp_endpoint if config.traces_exporter == "otlp" else "off",
        providers.prometheus_endpoint or "off",
    )
    try:
        agent.run(exit_when_idle=background)
    finally:
        os.close(lock_fd)
    _log.info("agent %s stopped", os.getpid())
    return 0


def stop_agent(state_dir: str | None, timeout: float) -> int:
    if state_dir:
        os.environ[env.OTEL_CLAUDE_STATE_DIR] = state_dir
    directory = env.state_dir(env.effective_environment())
    path = agent_lock.lock_path(directory)
    pid = agent_lock.holder_pid(path)
    pidfd = _pidfd(pid) if pid is not None else None
    # Checked again once the pidfd is open: it then names the lock holder, not a process that got a reused pid.
    if pid is None or pidfd is None or agent_lock.holder_pid(path) != pid:
        if pidfd is not None:
            os.close(pidfd)
        print("otel-claude: no agent is running")
        return 0
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        # Returns once the process is gone, not when it lets go of the lock: until then it still holds its port.
        gone = _wait_exit(pidfd, timeout)
    finally:
        os.close(pidfd)
    if gone:
        print(f"otel-claude: agent {pid} stopped")
        return 0
    print(f"otel-claude: agent {pid} did not stop within {timeout:.0f} s", file=sys.stderr)
    return 1


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _wait_exit(pidfd: int, timeout: float) -> bool:
    """A pidfd becomes readable when its process has exited."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0, int(timeout * 1000))))
