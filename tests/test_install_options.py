"""`install`'s options are one typed value, parsed the same way for the CLI and for `demo`."""

from __future__ import annotations

import pytest

from otel_claude.cli.main import main
from otel_claude.install import command
from otel_claude.install.command import InstallOptions, parse_args

ARGVS = [
    ["install"],
    ["install", "--project", "--project-dir", "/p", "--endpoint", "http://c:4317", "--prometheus-port", "9999"],
    ["install", "--scope", "local", "--capture-content", "--claude-version", "2.1.330", "--dry-run"],
    ["uninstall", "--local", "--project-dir", "/p"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=lambda argv: " ".join(argv[:2]))
def test_the_cli_and_parse_args_build_the_same_options(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[InstallOptions] = []
    monkeypatch.setattr(command, "run_install", lambda options: seen.append(options) or 0)
    assert main(argv) == 0
    assert seen == [parse_args(argv)]


def test_defaults_and_values_are_typed() -> None:
    assert parse_args(["install"]) == InstallOptions()  # what `demo` installs: user scope, detected version
    options = parse_args(ARGVS[1])
    assert (options.scope, options.project_dir, options.endpoint) == ("project", "/p", "http://c:4317")
    assert options.prometheus_port == 9999 and not options.dry_run
    assert parse_args(ARGVS[3]) == InstallOptions(command="uninstall", scope="local", project_dir="/p")


def test_uninstall_refuses_install_only_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["uninstall", "--endpoint", "http://c:4317"])
    assert "--endpoint" in capsys.readouterr().err
