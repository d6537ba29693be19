"""Settings: the config file honours standard OTEL_* names; the process environment wins; bad values fall back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import otel_claude
from otel_claude import config
from otel_claude.handoff import env


def test_process_environment_wins_over_the_config_file(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = isolated_home / ".config" / "otel-claude" / "otel-claude.env"
    path.parent.mkdir(parents=True)
    path.write_text("# comment\nOTEL_EXPORTER_OTLP_ENDPOINT=http://from-file:4317\nOTEL_SERVICE_NAME='file-name'\n")
    loaded = config.load()
    assert loaded.otlp_endpoint == "http://from-file:4317"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4317")
    assert config.load().otlp_endpoint == "http://from-env:4317"
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    config.apply_standard_variables()
    import os

    assert os.environ["OTEL_SERVICE_NAME"] == "file-name"
    assert os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://from-env:4317"
    monkeypatch.delenv("OTEL_SERVICE_NAME")


def test_bad_values_fall_back_to_defaults_with_a_problem(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "lots")
    monkeypatch.setenv("OTEL_CLAUDE_PROJECT_LABEL", "everything")
    loaded = config.load()
    assert loaded.prometheus_port == env.DEFAULT_PROMETHEUS_PORT and loaded.project_label == "name"
    assert {p.name for p in loaded.problems} == {"OTEL_EXPORTER_PROMETHEUS_PORT", "OTEL_CLAUDE_PROJECT_LABEL"}
    assert loaded.prometheus_host == "127.0.0.1", "loopback only by default"


NICENESS_CASES = [(None, 10, False), ("0", 0, False), ("19", 19, False), ("20", 10, True), ("-5", 10, True),
                   ("low", 10, True)]  # fmt: skip


@pytest.mark.parametrize(("value", "expected", "problem"), NICENESS_CASES)
def test_agent_niceness(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int, problem: bool
) -> None:
    if value is not None:
        monkeypatch.setenv(env.OTEL_CLAUDE_AGENT_NICE, value)
    loaded = config.load()
    assert loaded.agent_nice == expected
    assert (env.OTEL_CLAUDE_AGENT_NICE in {p.name for p in loaded.problems}) is problem


def test_every_variable_the_package_names_is_declared_in_env() -> None:
    """No module spells an OTEL_* name that env.py does not declare."""
    package = Path(otel_claude.__file__).parent
    declared = set(env.ALL)
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value.startswith("OTEL_") and value.isupper() and " " not in value and value != "OTEL_":
                    assert value in declared or module.name == "env.py", f"{module.name} reads undeclared {value}"
