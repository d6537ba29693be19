"""`otel-claude demo`: the product end to end without Docker or Claude Code.

Installs the hook for the user, starts the agent, replays a bundled real session (captured from Claude Code
2.1.330) through the live path, and prints where the telemetry went.
"""

from __future__ import annotations

import os
import time
import urllib.request
from importlib import resources

from otel_claude import semconv as sc
from otel_claude.cli import replay
from otel_claude.cli.status import collect, render
from otel_claude.handoff import agent_lock, env, launcher, spool
from otel_claude.install.command import parse_args, run_install


def _wait_processed(state_dir: str, timeout: float) -> None:
    """Until the agent has taken every record (exported, or held for retry while the Collector is away)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = collect(state_dir)
        last = report["last_report"]
        if not spool.pending_names(spool.SpoolPaths(state_dir)):
            return
        if last.get("span_export", {}).get("ok") is False:
            return  # held in the spool until the Collector answers: nothing is lost
        time.sleep(0.2)


def _prometheus_excerpt(url: str) -> list[str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError as exc:
        return [f"(could not read {url}: {exc})"]
    tool_calls = sc.prometheus_metric(sc.METRIC_TOOL_CALLS, counter=True)
    return [line for line in text.splitlines() if line.startswith(tool_calls)]


def run_demo(*, stop_after: bool) -> int:
    print("== 1. install the hook into Claude Code's user settings")
    run_install(parse_args(["install", "--user"]))  # what `otel-claude install --user` runs
    state_dir = env.state_dir(env.effective_environment())
    paths = spool.SpoolPaths(state_dir)
    spool.ensure_layout(paths)
    print("\n== 2. replay a bundled real session through the hook's spool and the agent")
    data = resources.files("otel_claude") / "data" / "demo"
    with resources.as_file(data) as folder:
        count = replay.spool_recording(
            os.path.join(folder, "hooks.jsonl"),
            paths,
            transcripts_root=os.path.join(folder, "transcripts"),
            recorded_projects_dir="/home/dev/.claude/projects",
        )
        print(f"spooled {count} hook events; starting the agent")
        if not agent_lock.agent_is_running(agent_lock.lock_path(state_dir)):
            launcher.spawn_agent(state_dir)
        _wait_processed(state_dir, 60)
        time.sleep(1.0)
    print("\n== 3. where the telemetry went")
    report = collect(state_dir)
    print(render(report))
    prometheus = (report["last_report"].get("endpoints") or {}).get("prometheus")
    if prometheus:
        print(f"\nTool calls on the agent's Prometheus endpoint ({prometheus}):")
        for line in _prometheus_excerpt(prometheus):
            print("  " + line)
    otlp = (report["last_report"].get("endpoints") or {}).get("otlp")
    if otlp:
        print(f"\nSpans and metrics go over OTLP gRPC to {otlp}; if nothing listens there, they wait in the spool")
        print("and are delivered when a Collector answers (`docker compose up -d` starts one with Grafana).")
    if stop_after:
        from otel_claude.agent.runner import stop_agent

        stop_agent(state_dir, 30)
    return 0
