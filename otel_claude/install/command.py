"""`otel-claude install` / `uninstall`: settings.json plus the agent's config file."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from otel_claude.handoff import env, paths
from otel_claude.install import events as hook_events
from otel_claude.install import managed as managed_install
from otel_claude.install import settings_file as installer
from otel_claude.install import tls

MANAGED_METRIC_EXPORT_INTERVAL_MS = 60000

Command = Literal["install", "uninstall"]
Scope = Literal["user", "project", "local", "managed"]


@dataclass(frozen=True)
class InstallOptions:
    """What `install` / `uninstall` do, typed; built from argv by `parse_args` (the CLI and `demo` alike)."""

    command: Command = "install"
    scope: Scope = "user"
    project_dir: str = "."
    dry_run: bool = False
    endpoint: str | None = None
    headers: str | None = None
    resource_attributes: str | None = None
    prometheus_port: int | None = None
    capture_content: bool = False
    claude_version: str | None = None
    claude_binary: str = "claude"
    state_dir: str | None = None
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure: bool = False
    team: str | None = None
    hook: installer.HookKind = "auto"

    @classmethod
    def from_namespace(cls, options: argparse.Namespace) -> InstallOptions:
        """From what the parsers `add_arguments` configured produced."""
        install = options.command == "install"
        return cls(
            command="install" if install else "uninstall",
            scope=options.scope or "user",
            project_dir=options.project_dir,
            dry_run=options.dry_run,
            endpoint=options.endpoint if install else None,
            headers=options.headers if install else None,
            resource_attributes=options.resource_attributes if install else None,
            prometheus_port=options.prometheus_port if install else None,
            capture_content=options.capture_content if install else False,
            claude_version=options.claude_version if install else None,
            claude_binary=options.claude_binary if install else "claude",
            state_dir=options.state_dir if install else None,
            certificate=options.certificate if install else None,
            client_certificate=options.client_certificate if install else None,
            client_key=options.client_key if install else None,
            insecure=options.insecure if install else False,
            team=options.team if install else None,
            hook=options.hook if install else "auto",
        )

    def gateway(self) -> tls.GatewayOptions:
        return tls.GatewayOptions(
            certificate=self.certificate,
            client_certificate=self.client_certificate,
            client_key=self.client_key,
            insecure=self.insecure,
            team=self.team,
        )


def add_arguments(parser: argparse.ArgumentParser, command: Command) -> None:
    """The options of `install` or `uninstall`, on the CLI's subparser for it."""
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--user", dest="scope", action="store_const", const="user", help="~/.claude (default)")
    scope.add_argument("--project", dest="scope", action="store_const", const="project", help=".claude/")
    scope.add_argument("--local", dest="scope", action="store_const", const="local", help="settings.local.json")
    scope.add_argument(
        "--managed",
        dest="scope",
        action="store_const",
        const="managed",
        help="every user of this machine: Claude Code's managed settings (as root)",
    )
    parser.add_argument("--scope", dest="scope", choices=("user", "project", "local", "managed"))
    parser.add_argument("--project-dir", default=".", help="the project for --project and --local")
    parser.add_argument("--dry-run", action="store_true", help="print the change, write nothing")
    if command == "uninstall":
        return
    parser.add_argument("--endpoint", help="OTLP gRPC endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)")
    parser.add_argument("--headers", help="OTLP headers k=v,... (OTEL_EXPORTER_OTLP_HEADERS)")
    parser.add_argument("--resource-attributes", help="k=v,... (OTEL_RESOURCE_ATTRIBUTES)")
    parser.add_argument("--certificate", help="CA PEM that verifies the endpoint (OTEL_EXPORTER_OTLP_CERTIFICATE)")
    parser.add_argument("--client-certificate", help="PEM for mutual TLS (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)")
    parser.add_argument("--client-key", help="its private key (OTEL_EXPORTER_OTLP_CLIENT_KEY)")
    parser.add_argument("--insecure", action="store_true", help="plaintext gRPC (OTEL_EXPORTER_OTLP_INSECURE=true)")
    parser.add_argument("--team", help="opt-in team label on every span and metric (OTEL_CLAUDE_TEAM)")
    parser.add_argument("--prometheus-port", type=int, help="agent's Prometheus port (OTEL_EXPORTER_PROMETHEUS_PORT)")
    parser.add_argument("--capture-content", action="store_true", help="export prompts and tool I/O, redacted")
    parser.add_argument("--claude-version", help="register the events of this Claude Code version (else detected)")
    parser.add_argument("--claude-binary", default="claude", help="the claude executable to ask for its version")
    parser.add_argument("--state-dir")
    parser.add_argument(
        "--hook",
        choices=installer.HOOK_KINDS,
        default="auto",
        help="which hook Claude Code runs: native (compiled here with cc), shell (hook.sh), python (hook.py), "
        "auto (the fastest this machine can run: the default)",
    )


def parse_args(argv: Sequence[str]) -> InstallOptions:
    """`install [OPTIONS]` or `uninstall [OPTIONS]` as the CLI spells them, e.g. `parse_args(["install"])`."""
    parser = argparse.ArgumentParser(prog="otel-claude")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("install", "uninstall"):
        add_arguments(commands.add_parser(command), command)
    return InstallOptions.from_namespace(parser.parse_args(list(argv)))


def _config_change(options: InstallOptions) -> installer.Change | None:
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
    wanted.update(options.gateway().config_values())
    path = Path(env.system_config_file() if options.scope == "managed" else env.config_file())
    raw = paths.read_private(str(path), env.MAX_CONFIG_BYTES)  # root's own file when managed
    before = raw.decode("utf-8") if raw is not None else None
    current = env.parse_config_text(before or "")
    if before is not None and all(current.get(k) == v for k, v in wanted.items()):
        return None
    if options.scope == "managed" and env.OTEL_METRIC_EXPORT_INTERVAL not in current:
        # Every export resends each cumulative series: at a team's scale that, not the traces, is the traffic
        # (docs/team.md, benchmarks/bench_team_sizing.py). The SDK's own default suits a gateway; kept if set.
        wanted[env.OTEL_METRIC_EXPORT_INTERVAL] = str(MANAGED_METRIC_EXPORT_INTERVAL_MS)
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


def _write_config(change: installer.Change, managed: bool) -> None:
    if not managed:
        change.path.parent.mkdir(parents=True, exist_ok=True, mode=paths.DIR_MODE)
        paths.write_atomic(str(change.path), change.after.encode("utf-8"))  # private (0600): it may hold a header
        return
    # The machine-wide file must be readable by every user's agent, and writable by root only.
    mode = managed_install.SYSTEM_CONFIG_MODE
    change.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(change.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(change.after)
    os.chmod(change.path, mode)


def run_install(options: InstallOptions) -> int:
    path = installer.settings_path(options.scope, options.project_dir)
    managed = options.scope == "managed"
    if managed and options.command == "install" and options.state_dir:
        print("otel-claude install: --managed takes no --state-dir: each user's hook finds its own", file=sys.stderr)
        return 2
    problem = options.gateway().problem() if options.command == "install" else None
    if problem:
        print(f"otel-claude install: {problem}", file=sys.stderr)
        return 2
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
            argv, hook_described = installer.hook_argv(state_dir, options.hook)
            if managed:
                # Every user's hook runs this interpreter and these files: a private one would fail silently in
                # each hook.
                problem = managed_install.unreachable_for_other_users(
                    [sys.executable, installer.hook_script("hook.sh"), installer.hook_script("hook.py"), argv[0]]
                )
                if problem:
                    print(f"otel-claude install: {problem}", file=sys.stderr)
                    return 2
            change = installer.plan_install(path, events, shlex.join(argv))
            config_change = _config_change(options)
            described = ".".join(map(str, version)) if version else "unknown (classic events only)"
            print(f"Claude Code version: {described}; registering {len(events)} events")
            print(f"hook: {hook_described}")
            print(hook_events.describe_left_out())
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
