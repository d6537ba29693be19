"""`otel-claude` hands each command its arguments whole, in any order, and `--help` reaches each command's parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_claude.cli.main import main


@pytest.mark.parametrize("order", ["options-first", "paths-first"])
def test_backfill_takes_options_before_or_after_its_paths(
    order: str, isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "projects"
    empty.mkdir()
    argv = ["--dry-run", str(empty)] if order == "options-first" else [str(empty), "--dry-run"]
    assert main(["backfill", *argv]) == 0
    assert "LLM calls found: 0" in capsys.readouterr().out  # the dry run took its path and its option


def test_backfill_help_is_backfills_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["backfill", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--since" in out and "--openmetrics" in out


def test_every_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("hook", "agent", "stop", "status", "replay", "install", "uninstall", "backfill", "demo"):
        assert command in out
