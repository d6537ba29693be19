"""`otel-claude status`: is the agent alive, how big is the backlog, did the last export work, and where to."""

from __future__ import annotations

import json
import time
from typing import Any

from otel_claude import config as agent_config
from otel_claude.agent.status import count_lines, dropped_count, read_status
from otel_claude.handoff import agent_lock, env, spool


def collect(state_dir: str) -> dict[str, Any]:
    paths = spool.SpoolPaths(state_dir)
    sizes = list(spool.iter_sizes(paths))
    pid = agent_lock.holder_pid(agent_lock.lock_path(state_dir))
    agent_status = read_status(state_dir) or {}
    return {
        "state_dir": state_dir,
        "config_file": env.config_file(env.effective_environment()),
        "agent": {"running": pid is not None, "pid": pid},
        "spool": {"records": len(sizes), "bytes": sum(sizes)},
        "dropped_records": dropped_count(state_dir),
        "dead_letters": count_lines(paths.dead_letters) + count_lines(paths.dead_letters + ".1"),
        "last_report": agent_status,
        "configured": _configured_endpoints(),
    }


def _configured_endpoints() -> dict[str, str | None]:
    """Where the agent will export, from the config file and environment: what status shows before it reported."""
    config = agent_config.load()
    otlp_on = config.traces_exporter == "otlp" or "otlp" in config.metrics_exporters
    prometheus_on = "prometheus" in config.metrics_exporters
    return {
        "otlp": config.otlp_endpoint if otlp_on else None,
        "prometheus": f"http://{config.prometheus_host}:{config.prometheus_port}/metrics" if prometheus_on else None,
    }


def _endpoint(reported: dict[str, Any], configured: dict[str, Any], name: str) -> str:
    if "otlp" in reported or "prometheus" in reported:  # the agent's own word, once it has run
        return str(reported.get(name) or "off")
    if configured.get(name):
        return f"{configured[name]} (configured; the agent has not reported yet)"
    return "off"


def _prometheus_line(reported: dict[str, Any], configured: dict[str, Any], last: dict[str, Any]) -> str:
    """The endpoint the agent serves; where it could not bind its port, why (it retries)."""
    error = last.get("prometheus_error")
    if error and not reported.get("prometheus"):
        return f"NOT SERVING: {error} (retrying)"
    return _endpoint(reported, configured, "prometheus")


def _when(epoch: float | None) -> str:
    if not epoch:
        return "never"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(epoch))} ({time.time() - epoch:.0f} s ago)"


def _export_line(result: dict[str, Any] | None) -> str:
    if not result or result.get("ok") is None:
        return "nothing exported yet"
    if result["ok"]:
        return f"ok at {_when(result.get('at'))}"
    return f"FAILED at {_when(result.get('at'))}: {result.get('error')} ({result.get('failures')} failures so far)"


def render(report: dict[str, Any]) -> str:
    last = report["last_report"]
    agent = report["agent"]
    endpoints = last.get("endpoints") or {}
    lines = [
        f"agent:        {'running, pid ' + str(agent['pid']) if agent['running'] else 'not running'}",
        f"state dir:    {report['state_dir']}",
        f"config file:  {report['config_file']}",
        f"spool:        {report['spool']['records']} records waiting ({report['spool']['bytes']} bytes on disk)",
        f"dropped:      {report['dropped_records']} records the hook could not spool",
        f"dead letters: {report['dead_letters']} records that could not be used (see dead-letters.jsonl)",
        f"spans:        {_export_line(last.get('span_export'))}",
        f"metrics:      {_export_line(last.get('metric_export'))}",
        f"OTLP:         {_endpoint(endpoints, report.get('configured') or {}, 'otlp')}",
        f"Prometheus:   {_prometheus_line(endpoints, report.get('configured') or {}, last)}",
    ]
    if last:
        lines.append(f"processed:    {last.get('records_processed', 0)} records since the agent started")
        lines.append(f"sessions:     {last.get('open_sessions', 0)} open")
        lines.append(f"content:      {'captured (redacted)' if last.get('capture_content') else 'not captured'}")
    unknown = last.get("unknown_models") or []
    if unknown:
        lines.append(f"unknown models (tokens counted, cost unknown): {', '.join(unknown)}")
    for problem in last.get("config_problems") or []:
        lines.append(f"config problem: {problem}")
    corrupt = last.get("corrupt_snapshots") or []
    if corrupt:
        lines.append(f"state:        {len(corrupt)} unusable snapshot(s) kept aside, newest {corrupt[-1]}")
    return "\n".join(lines)


def show_status(state_dir: str | None, *, as_json: bool) -> int:
    directory = state_dir or env.state_dir(env.effective_environment())
    report = collect(directory)
    print(json.dumps(report, indent=2) if as_json else render(report))
    return 0
