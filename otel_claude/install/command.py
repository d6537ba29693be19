"""`otel-claude install` / `uninstall`: settings.json plus the agent's config file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from otel_claude.handoff import env, spool
from otel_claude.install import events as hook_events
from otel_claude.install import managed as managed_install
from otel_claude.install import settings_file as installer
from otel_claude.install import tls

MANAGED_METRIC_EXPORT_INTERVAL_MS = 60000


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
    wanted.update(_gateway_options(options).config_values())
    path = Path(env.system_config_file() if options.scope == "managed" else env.config_file())
    before = path.read_text(encoding="utf-8") if path.exists() else None
    current = env.parse_config_text(before or "")
    if options.scope == "managed" and env.OTEL_METRIC_EXPORT_INTERVAL not in current:
        # Every export resends each cumulative series: at a team's scale that, not the traces, is the traffic
        # (docs/team.md, benchmarks/bench_team_sizing.py). The SDK's own default suits a gateway; kept if set.
        wanted[env.OTEL_METRIC_EXPORT_INTERVAL] = str(MANAGED_METRIC_EXPORT_INTERVAL_MS)
    if before is not None and all(current.get(k) == v for k, v in wanted.items()):
        return None
    current.update(wanted)
    header = (
        "# otel-claude agent settings, written by `otel-claude install`.\n"
        "# Standard OTEL_* names mean what they always mean; the process environment wins over this file.\n"
    )
    body = "".join(f"{key}={value}\n" for key, value in sorted(current.items()))
    return installer.Change(path, before, header + body)


def _gateway_options(options: argparse.Namespace) -> tls.GatewayOptions:
    return tls.GatewayOptions(
        certificate=getattr(options, "certificate", None),
        client_certificate=getattr(options, "client_certificate", None),
        client_key=getattr(options, "client_key", None),
        insecure=bool(getattr(options, "insecure", False)),
        team=getattr(options, "team", None),
    )


def _write_config(change: installer.Change, managed: bool) -> None:
    # A user's file may hold an auth header: 0600. The machine-wide one must be readable by every user's agent.
    mode = managed_install.SYSTEM_CONFIG_MODE if managed else spool.FILE_MODE
    change.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755 if managed else spool.DIR_MODE)
    fd = os.open(change.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(change.after)
    os.chmod(change.path, mode)


def run_install(options: argparse.Namespace) -> int:
    scope = options.scope or "user"
    managed = scope == "managed"
    if managed and options.command == "install" and options.state_dir:
        print("otel-claude install: --managed takes no --state-dir: each user's hook finds its own", file=sys.stderr)
        return 2
    problem = _gateway_options(options).problem() if options.command == "install" else None
    if managed and options.command == "install" and not problem:
        # Every user's hook runs this interpreter and these files: a private one would fail silently in each hook.
        problem = managed_install.unreachable_for_other_users(
            [sys.executable, installer.hook_script("hook.sh"), installer.hook_script("hook.py")]
        )
    if problem:
        print(f"otel-claude install: {problem}", file=sys.stderr)
        return 2
    path = installer.settings_path(scope, options.project_dir)
    try:
        if options.command == "uninstall":
            change = installer.plan_uninstall(path)
            config_change = managed_install.plan_remove_system_config() if managed else None
        else:
            version = (
                hook_events.parse_version(options.claude_version)
                if options.claude_version
                else hook_events.detect_version(options.claude_binary)
            )
            events = hook_events.events_for(version)
            own_dir = options.state_dir or env.state_dir(env.effective_environment())
            state_dir = None if managed else os.path.abspath(own_dir)
            change = installer.plan_install(path, events, installer.hook_command(state_dir))
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
        elif item is config_change and options.command == "uninstall":
            item.path.unlink(missing_ok=True)
            print(f"removed {item.path}")
        elif item is config_change:
            _write_config(item, managed)
            print(f"wrote {item.path}")
        elif managed and options.command == "uninstall" and managed_install.is_empty(item.after):
            item.path.unlink(missing_ok=True)  # nothing but ours was in it: an empty object would be left
            print(f"removed {item.path}")
        else:
            installer.apply(item, managed_install.SETTINGS_MODE if managed else None)
            print(f"{'updated' if options.command == 'install' else 'cleaned'} {item.path}")
    if options.dry_run:
        print("(dry run: nothing written)")
    return 0
