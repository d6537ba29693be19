"""`otel-claude install` / `uninstall`: settings.json plus the agent's config file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from otel_claude.handoff import env, paths
from otel_claude.install import events as hook_events
from otel_claude.install import settings_file as installer


def _config_change(options: argparse.Namespace) -> installer.Change | None:
    """The config file with the given settings merged into what it already holds (KEY=VALUE lines)."""
    wanted: dict[str, str] = {}
    if options.endpoint:
        wanted[env.OTEL_EXPORTER_OTLP_ENDPOINT] = options.endpoint
    if options.headers:
        wanted[env.OTEL_EXPORTER_OTLP_HEADERS] = options.headers
    if options.resource_attributes:
        wanted[env.OTEL_RESOURCE_ATTRIBUTES] = options.resource_attributes
    if options.prometheus_port is not None:
        wanted[env.OTEL_EXPORTER_PROMETHEUS_PORT] = str(options.prometheus_port)
    if options.capture_content:
        wanted[env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT] = "true"
    path = Path(env.config_file())
    raw = paths.read_private(str(path), env.MAX_CONFIG_BYTES)
    before = raw.decode("utf-8") if raw is not None else None
    current = env.parse_config_text(before or "")
    if before is not None and all(current.get(k) == v for k, v in wanted.items()):
        return None
    current.update(wanted)
    header = (
        "# otel-claude agent settings, written by `otel-claude install`.\n"
        "# Standard OTEL_* names mean what they always mean; the process environment wins over this file.\n"
    )
    try:
        body = "".join(env.config_line(key, value) for key, value in sorted(current.items()))
    except ValueError as exc:
        raise installer.SettingsError(str(exc)) from None
    return installer.Change(path, before, header + body)


def _write_config(change: installer.Change) -> None:
    change.path.parent.mkdir(parents=True, exist_ok=True, mode=paths.DIR_MODE)
    paths.write_atomic(str(change.path), change.after.encode("utf-8"))  # private (0600): it may hold an auth header


def run_install(options: argparse.Namespace) -> int:
    scope = options.scope or "user"
    path = installer.settings_path(scope, options.project_dir)
    try:
        if options.command == "uninstall":
            change = installer.plan_uninstall(path)
            config_change = None
        else:
            version = (
                hook_events.parse_version(options.claude_version)
                if options.claude_version
                else hook_events.detect_version(options.claude_binary)
            )
            events = hook_events.events_for(version)
            state_dir = options.state_dir or env.state_dir(env.effective_environment())
            change = installer.plan_install(path, events, installer.hook_command(os.path.abspath(state_dir)))
            config_change = _config_change(options)
            described = ".".join(map(str, version)) if version else "unknown (classic events only)"
            print(f"Claude Code version: {described}; registering {len(events)} events")
    except installer.SettingsError as exc:
        print(f"otel-claude {options.command}: {exc}", file=sys.stderr)
        return 1
    changes = [c for c in (change, config_change) if c is not None and c.changed]
    if not changes:
        print(f"otel-claude {options.command}: nothing to change in {path}")
        return 0
    for item in changes:
        if options.dry_run:
            print(item.diff() or f"{item.path}: (new file)\n{item.after}")
        elif item is config_change:
            _write_config(item)
            print(f"wrote {item.path}")
        else:
            installer.apply(item)
            print(f"{'updated' if options.command == 'install' else 'cleaned'} {item.path}")
    if options.dry_run:
        print("(dry run: nothing written)")
    return 0
