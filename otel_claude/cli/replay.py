"""`otel-claude replay FILE`: feeds a recorded hooks.jsonl through the live path, with the recorded times.

Each line `{"event": ..., "ts": <ISO 8601 receive time>, "payload": <HookInput>}` becomes a spool record, just
as the hook would have written it, and the agent (started if none runs) processes it like any other.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from typing import Any

from otel_claude.agent.status import read_status
from otel_claude.handoff import agent_lock, env, launcher, spool

_PATH_FIELDS = ("transcript_path", "agent_transcript_path")


def _rewrite_paths(payload: dict[str, Any], recorded: str, root: str) -> dict[str, Any]:
    prefix = recorded.rstrip("/") + "/"
    for field in _PATH_FIELDS:
        value = payload.get(field)
        if isinstance(value, str) and value.startswith(prefix):
            payload[field] = os.path.join(root, value[len(prefix) :])
    return payload


def to_ns(ts: str) -> int:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1_000_000) * 1000


def spool_recording(
    path: str, paths: spool.SpoolPaths, *, transcripts_root: str | None, recorded_projects_dir: str
) -> int:
    count = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                received_ns = to_ns(entry["ts"])
                payload = entry["payload"]
            except (ValueError, KeyError, TypeError) as exc:
                print(f"otel-claude replay: {path}:{number}: skipped ({exc})", file=sys.stderr)
                continue
            if transcripts_root and isinstance(payload, dict):
                payload = _rewrite_paths(payload, recorded_projects_dir, os.path.abspath(transcripts_root))
            spool.append(paths, received_ns, json.dumps(payload).encode())
            count += 1
    return count


def wait_until_exported(state_dir: str, timeout: float) -> bool:
    """True once the spool is empty (records go only after their spans were exported), the agent has no
    transcript re-read, held span or unexported span left (the turns' spans wait for their re-read), and, if
    OTLP metrics are on, one metric export has happened since."""
    paths = spool.SpoolPaths(state_dir)
    deadline = time.monotonic() + timeout
    drained_at: float | None = None
    while time.monotonic() < deadline:
        if drained_at is None and not spool.pending_names(paths):
            drained_at = time.time()
        if drained_at is not None:
            status = read_status(state_dir) or {}
            metric = status.get("metric_export") or {}
            settling = status.get("settling") or {}
            settled = not any(settling.get(key) for key in ("reads", "held_spans", "unexported_spans"))
            if (
                settled
                and status.get("updated_at", 0) >= drained_at
                and (metric.get("at") is None or metric["at"] >= drained_at)
            ):
                return True
            if not agent_lock.agent_is_running(agent_lock.lock_path(state_dir)):
                return True
        time.sleep(0.05)
    return False


def replay_file(
    file: str,
    *,
    transcripts_root: str | None,
    recorded_projects_dir: str,
    wait: bool,
    timeout: float,
    state_dir: str | None,
) -> int:
    directory = state_dir or env.state_dir(env.effective_environment())
    paths = spool.SpoolPaths(directory)
    spool.ensure_layout(paths)
    count = spool_recording(file, paths, transcripts_root=transcripts_root, recorded_projects_dir=recorded_projects_dir)
    if not agent_lock.agent_is_running(agent_lock.lock_path(directory)):
        launcher.spawn_agent(directory)
    print(f"otel-claude replay: spooled {count} events from {file}")
    if wait and not wait_until_exported(directory, timeout):
        print(f"otel-claude replay: not everything was exported within {timeout:.0f} s", file=sys.stderr)
        return 1
    return 0
