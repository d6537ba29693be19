"""install for a team: exporter TLS settings and headers in the private config file, and `--managed`, which puts
one command into the machine's managed settings that resolves each user's own state dir when it runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support.processes import stop_agent, wait_for

from otel_claude.cli.main import main
from otel_claude.handoff import env
from otel_claude.install import managed
from otel_claude.install import settings_file as installer


def _config_lines(path: Path) -> set[str]:
    return {line for line in path.read_text().splitlines() if not line.startswith("#")}


def test_headers_certificates_and_team_go_to_the_private_config_file(isolated_home: Path, tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / name for name in ("ca.pem", "client.pem", "client.key"))
    for path in (ca, cert, key):
        path.write_text("PEM")
    argv = ["install", "--claude-version", "2.1.330", "--endpoint", "https://gateway.example:4317",
            "--headers", "authorization=Bearer t0ken", "--certificate", str(ca),
            "--client-certificate", str(cert), "--client-key", str(key), "--team", "payments"]  # fmt: skip
    assert main(argv) == 0
    config = isolated_home / ".config" / "otel-claude" / "otel-claude.env"
    assert {
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://gateway.example:4317",
        "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer t0ken",
        f"OTEL_EXPORTER_OTLP_CERTIFICATE={ca}",
        f"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={cert}",
        f"OTEL_EXPORTER_OTLP_CLIENT_KEY={key}",
        "OTEL_CLAUDE_TEAM=payments",
    } <= _config_lines(config)
    assert config.stat().st_mode & 0o777 == 0o600, "it holds a bearer token"
    # The agent's view: the same values, as the SDK's exporter will read them.
    merged = env.effective_environment()
    assert merged["OTEL_EXPORTER_OTLP_CERTIFICATE"] == str(ca) and merged["OTEL_CLAUDE_TEAM"] == "payments"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--certificate", "/nonexistent/ca.pem"], "no such file"),
        (["--client-certificate", "CERT"], "go together"),
        (["--insecure", "--certificate", "CA"], "contradict"),
        (["--team", "x" * 65], "at most 64"),
    ],
)
def test_tls_options_that_cannot_work_are_refused(
    isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    (tmp_path / "CERT").write_text("PEM")
    (tmp_path / "CA").write_text("PEM")
    os.chdir(tmp_path)
    assert main(["install", "--claude-version", "2.1.330", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (isolated_home / ".config" / "otel-claude" / "otel-claude.env").exists()


@pytest.fixture
def managed_paths(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The managed settings and system config paths, moved into tmp (test_managed_cli.py writes the real path)."""
    settings = tmp_path / "etc" / "claude-code" / "managed-settings.json"
    monkeypatch.setattr(installer, "LINUX_PATH", settings)
    # The test interpreter may live in a private home (pyenv under /root); the check has its own test below.
    monkeypatch.setattr(managed, "unreachable_for_other_users", lambda paths: None)
    monkeypatch.setattr(installer, "MACOS_PATH", settings)
    return settings, Path(env.system_config_file())


def test_managed_paths_per_platform() -> None:
    assert str(installer.managed_settings_path("linux")) == "/etc/claude-code/managed-settings.json"
    assert str(installer.managed_settings_path("darwin")) == (
        "/Library/Application Support/ClaudeCode/managed-settings.json"
    )


def test_managed_install_bakes_no_user_and_uninstall_restores_the_file(managed_paths: tuple[Path, Path]) -> None:
    settings, system_config = managed_paths
    settings.parent.mkdir(parents=True)
    original = json.dumps({"permissions": {"deny": ["WebFetch"]}, "allowManagedHooksOnly": True}, indent=1) + "\n"
    settings.write_text(original)
    argv = ["install", "--managed", "--claude-version", "2.1.330", "--endpoint", "https://gw:4317",
            "--headers", "authorization=Bearer org", "--team", "platform"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(settings.read_text())
    commands = {h["command"] for groups in data["hooks"].values() for g in groups for h in g["hooks"]}
    assert len(commands) == 1
    command = commands.pop()
    assert installer.MARKER in command
    home = os.environ["HOME"]
    assert home not in command and "state" not in command, f"a per-user path is baked in: {command}"
    assert data["permissions"] == {"deny": ["WebFetch"]} and data["allowManagedHooksOnly"] is True
    assert system_config.stat().st_mode & 0o777 == 0o644, "every user's agent reads it"
    assert {"OTEL_CLAUDE_TEAM=platform", "OTEL_METRIC_EXPORT_INTERVAL=60000"} <= _config_lines(system_config)
    assert main(["install", "--managed", "--state-dir", "/srv/shared"]) == 2, "one state dir for all users is refused"
    assert main(["uninstall", "--managed"]) == 0
    assert json.loads(settings.read_text()) == json.loads(original)
    assert not system_config.exists()


def test_managed_uninstall_removes_a_file_install_created(managed_paths: tuple[Path, Path]) -> None:
    settings, _ = managed_paths
    assert main(["install", "--managed", "--claude-version", "2.1.330"]) == 0
    assert settings.stat().st_mode & 0o777 == 0o644
    assert main(["uninstall", "--managed"]) == 0
    assert not settings.exists()


@pytest.mark.integration
def test_the_managed_command_spools_into_each_users_own_state_dir(
    managed_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    settings, _ = managed_paths
    assert main(["install", "--managed", "--claude-version", "2.1.330"]) == 0
    command = json.loads(settings.read_text())["hooks"]["Stop"][0]["hooks"][0]["command"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "XDG_"))}
    # The agent each hook starts must not try to export anywhere.
    base.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_CLAUDE_DEBUG="1")
    users = {}
    for user in ("ann", "ben"):
        home = tmp_path / "homes" / user
        home.mkdir(parents=True)
        users[user] = home / ".local" / "state" / "otel-claude"
        payload = json.dumps({"hook_event_name": "Stop", "session_id": f"s-{user}"}).encode()
        result = subprocess.run(
            ["bash", "-c", command], input=payload, env={**base, "HOME": str(home)}, capture_output=True, timeout=30
        )
        assert result.returncode == 0 and result.stdout == b"", result.stderr
    try:
        for user, state in users.items():

            def processed(state: Path = state) -> bool:
                status = state / "status.json"
                return status.exists() and json.loads(status.read_text()).get("records_processed") == 1

            # One record each, taken by each user's own agent from each user's own spool.
            wait_for(processed, 30, f"{user}'s agent to process its record in {state}")
            assert state.stat().st_mode & 0o777 == 0o700
    finally:
        for state in users.values():
            stop_agent(str(state), {**base, "HOME": str(state.parents[2])})


def test_managed_install_refuses_an_interpreter_other_users_cannot_run() -> None:
    base = Path(tempfile.mkdtemp(prefix="otel-claude-reach-"))  # pytest's tmp_path lies in a 0700 directory
    try:
        base.chmod(0o755)
        python = base / "private" / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text("")
        python.chmod(0o755)
        (base / "private").chmod(0o700)
        assert managed.unreachable_for_other_users([str(python)]) == (
            f"{base / 'private'} is not readable by other users, so their hooks cannot run {python}"
        )
        (base / "private").chmod(0o755)
        assert managed.unreachable_for_other_users([str(python)]) is None
    finally:
        shutil.rmtree(base)
