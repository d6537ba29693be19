"""The `otel-claude` command: `main(argv) -> int`, so tests call it directly."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["hook"]:
        # The hook's path stays free of argparse and everything else below.
        from otel_claude import hook

        return hook.main(args[1:])
    if args[:1] == ["backfill"]:
        # Its own parser sees every argument (an argparse.REMAINDER refused options before the first path).
        from otel_claude.backfill.command import backfill_main

        return backfill_main(args[1:], own_process=argv is None)  # None: the program's own process
    return _main(args)


def _main(args: list[str]) -> int:
    import argparse

    from otel_claude.version import __version__

    parser = argparse.ArgumentParser(
        prog="otel-claude", description="OpenTelemetry traces and metrics for Claude Code."
    )
    parser.add_argument("--version", action="version", version=f"otel-claude {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    hook = commands.add_parser("hook", help="the command Claude Code runs on every event (reads stdin)")
    hook.add_argument("--state-dir")

    agent = commands.add_parser("agent", help="run the agent in the foreground")
    agent.add_argument("--background", action="store_true", help="started by a hook: quiet, exits when idle")
    agent.add_argument("--state-dir")

    stop = commands.add_parser("stop", help="stop the running agent after it flushed")
    stop.add_argument("--state-dir")
    stop.add_argument("--timeout", type=float, default=30.0)

    status = commands.add_parser("status", help="agent, spool backlog, last export result, endpoints")
    status.add_argument("--json", action="store_true")
    status.add_argument("--state-dir")

    replay = commands.add_parser("replay", help="feed a recorded hooks.jsonl through the live path")
    replay.add_argument("file")
    replay.add_argument("--transcripts-root", help="directory that stands for the recorded ~/.claude/projects")
    replay.add_argument("--recorded-projects-dir", default="/home/dev/.claude/projects")
    replay.add_argument("--wait", action="store_true", help="return once everything is exported")
    replay.add_argument("--timeout", type=float, default=120.0)
    replay.add_argument("--state-dir")

    from otel_claude.install import command as install_command

    install_command.add_arguments(
        commands.add_parser("install", help="wire the hook into Claude Code's settings.json"), "install"
    )
    install_command.add_arguments(
        commands.add_parser("uninstall", help="remove exactly what install added"), "uninstall"
    )

    from otel_claude.backfill.command import add_arguments as add_backfill_arguments  # argparse only

    backfill = commands.add_parser(
        "backfill",
        help="turn past transcripts into LLM-call spans, tokens and cost",
        description="Export past Claude Code transcripts as LLM-call spans and token/cost metrics, each call once.",
    )
    add_backfill_arguments(backfill)

    trace = commands.add_parser("trace", help="show the last turns the agent finished as trace trees")
    trace.add_argument("--turns", type=int, default=3, help="how many of the latest turns (default 3)")
    trace.add_argument("--if-undelivered", action="store_true", help="only if the last span export failed")
    trace.add_argument("--state-dir")

    demo = commands.add_parser(
        "demo", help="install, start the agent, replay a bundled real session, show where telemetry went"
    )
    demo.add_argument("--stop", action="store_true", help="stop the agent afterwards (it keeps running by default)")

    options = parser.parse_args(args)  # `hook` and `backfill` never get here: main() hands them over first
    if options.command == "agent":
        from otel_claude.agent.runner import run_agent

        return run_agent(background=options.background, state_dir=options.state_dir)
    if options.command == "stop":
        from otel_claude.agent.runner import stop_agent

        return stop_agent(options.state_dir, options.timeout)
    if options.command == "status":
        from otel_claude.cli.status import show_status

        return show_status(options.state_dir, as_json=options.json)
    if options.command == "replay":
        from otel_claude.cli.replay import replay_file

        return replay_file(
            options.file,
            transcripts_root=options.transcripts_root,
            recorded_projects_dir=options.recorded_projects_dir,
            wait=options.wait,
            timeout=options.timeout,
            state_dir=options.state_dir,
        )
    if options.command in ("install", "uninstall"):
        return install_command.run_install(install_command.InstallOptions.from_namespace(options))
    if options.command == "trace":
        from otel_claude.cli.trace_view import show_trace

        return show_trace(options.state_dir, options.turns, if_undelivered=options.if_undelivered)
    assert options.command == "demo", options.command  # argparse accepts only the commands above
    from otel_claude.cli.demo import run_demo

    return run_demo(stop_after=options.stop)
