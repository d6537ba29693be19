"""install/uninstall edit settings.json without touching anything else, idempotently, with a backup."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from otel_claude.cli.main import main
from otel_claude.install import events as hook_events
from otel_claude.install import native_hook
from otel_claude.install import settings_file as installer

ORIGINAL = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git *)"]},
    "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}]},
}


@pytest.fixture
def settings(isolated_home: Path) -> Path:
    path = isolated_home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(ORIGINAL))
    return path


def _ours(data: dict[str, object]) -> dict[str, int]:
    hooks = data.get("hooks", {})
    assert isinstance(hooks, dict)
    return {
        event: sum(1 for g in groups for h in g["hooks"] if installer.MARKER in h["command"])
        for event, groups in hooks.items()
    }


def test_install_adds_one_handler_per_known_event_and_keeps_the_rest(settings: Path) -> None:
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    data = json.loads(settings.read_text())
    assert data["model"] == "opus" and data["permissions"] == ORIGINAL["permissions"]
    assert data["hooks"]["Stop"][0] == ORIGINAL["hooks"]["Stop"][0]  # type: ignore[index]
    expected = hook_events.events_for((2, 1, 330))
    assert _ours(data) == dict.fromkeys(expected, 1)
    command = data["hooks"]["PreToolUse"][0]["hooks"][0]
    assert command["timeout"] == installer.HOOK_TIMEOUT_S
    binary, _ = native_hook.ensure_built()  # a C compiler is here: the compiled hook is what install registers
    assert binary and os.access(binary, os.X_OK) and command["command"].startswith(f"{binary} ")
    state_dir = str(settings.parent.parent / ".local" / "state" / "otel-claude")
    assert command["command"].endswith(state_dir), "the state dir is on the command line: Claude Code strips OTEL_*"
    assert json.loads((settings.parent / "settings.json.otel-claude.bak").read_text()) == ORIGINAL


def _our_command(settings: Path) -> str:
    (command,) = {
        h["command"]
        for groups in json.loads(settings.read_text())["hooks"].values()
        for group in groups
        for h in group["hooks"]
        if installer.MARKER in h["command"]
    }
    return str(command)


def test_the_python_hook_is_registered_when_asked_for() -> None:
    command = installer.hook_command("/s", "python")
    assert " -I -S " in command and command.endswith("hook.py --state-dir /s")


@pytest.mark.parametrize(("kind", "script"), [("shell", "hook.sh"), ("python", "hook.py")])
def test_install_registers_the_hook_asked_for(
    settings: Path, capsys: pytest.CaptureFixture[str], kind: str, script: str
) -> None:
    assert main(["install", "--claude-version", "2.1.330", "--hook", kind]) == 0
    command = _our_command(settings)
    assert installer.hook_script(script) in command
    assert f"hook: {kind}: {script}" in capsys.readouterr().out


def test_install_says_which_hook_it_registered(settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    assert "hook: native: compiled hook.c" in capsys.readouterr().out


def test_without_a_compiler_install_falls_back_to_hook_sh_and_says_why(
    settings: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "package"
    package.mkdir()
    shutil.copy(installer.hook_script("hook.c"), package / "hook.c")
    monkeypatch.setattr(native_hook, "package_dir", lambda: str(package))
    monkeypatch.setattr(native_hook, "compiler", lambda: None)
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    command = _our_command(settings)
    assert installer.hook_script("hook.sh") in command
    assert "hook: shell: hook.sh; no compiled hook: no C compiler (cc) on PATH" in capsys.readouterr().out
    assert main(["install", "--claude-version", "2.1.330", "--hook", "native"]) == 1  # asked for, not possible


def test_second_install_changes_nothing(settings: Path) -> None:
    main(["install", "--claude-version", "2.1.330"])
    first = settings.read_text()
    stamp = settings.stat().st_mtime_ns
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    assert settings.read_text() == first and settings.stat().st_mtime_ns == stamp


def test_uninstall_removes_exactly_what_install_added(settings: Path) -> None:
    original = settings.read_text()
    main(["install", "--claude-version", "2.1.330"])
    assert main(["uninstall"]) == 0
    assert settings.read_text() == original  # the very bytes: nothing else changed since, so the original comes back


@pytest.mark.parametrize("indent", ["    ", "\t", "  "])
def test_the_files_own_formatting_is_kept(settings: Path, indent: str) -> None:
    """Install writes the file with its own indentation, and uninstall gives back the original bytes (its key order
    and spacing too); a change the user made meanwhile is kept, in the file's indentation."""
    original = json.dumps({"permissions": ORIGINAL["permissions"], "model": "opus"}, indent=indent) + "\n"
    settings.write_text(original)
    main(["install", "--claude-version", "2.1.330"])
    installed = settings.read_text()
    assert installed.startswith("{\n" + indent + '"permissions": {\n' + indent * 2 + '"allow": [')
    main(["uninstall"])
    assert settings.read_text() == original
    main(["install", "--claude-version", "2.1.330"])
    edited = json.loads(settings.read_text())
    edited["model"] = "sonnet"  # the user's own change, after install
    settings.write_text(json.dumps(edited, indent=indent))
    main(["uninstall"])
    after = settings.read_text()
    assert json.loads(after) == {"permissions": ORIGINAL["permissions"], "model": "sonnet"}
    assert after == json.dumps(json.loads(after), indent=indent) + "\n"


def test_a_settings_file_linked_from_a_dotfiles_checkout_is_edited_where_it_lives(
    settings: Path, tmp_path: Path
) -> None:
    """~/.claude/settings.json as a link into a dotfiles checkout: install and uninstall edit the checkout's file and
    leave the link a link (replacing it would cut the settings off from the checkout)."""
    kept = tmp_path / "dotfiles" / "claude-settings.json"
    kept.parent.mkdir()
    shutil.move(settings, kept)
    settings.symlink_to(kept)
    original = kept.read_text()
    assert main(["install", "--claude-version", "2.1.330"]) == 0
    assert settings.is_symlink() and _ours(json.loads(kept.read_text()))
    assert main(["uninstall"]) == 0
    assert settings.is_symlink() and kept.read_text() == original


@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling", "someone else's"])
def test_a_settings_path_that_is_no_regular_file_of_ours_is_refused_without_waiting(
    settings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    settings.unlink()
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(settings)  # a read would block until a writer came
    elif kind == "directory":
        settings.mkdir()
    else:
        if kind == "someone else's":
            if os.getuid() != 0:
                pytest.skip("needs root to make a file of another user")
            target.write_text("{}")
            os.chown(target, 4242, 4242)
        settings.symlink_to(target)

    def waited(*_: object) -> None:
        raise AssertionError("install waited on the settings path")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(10)  # a regression fails here instead of hanging the suite
    try:
        assert main(["install", "--claude-version", "2.1.330"]) == 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "not touching it" in capsys.readouterr().err
    assert kind != "someone else's" or target.read_text() == "{}"


def test_older_or_unknown_versions_get_only_events_they_know(settings: Path) -> None:
    main(["install", "--claude-version", "2.1.100"])
    events = set(_ours(json.loads(settings.read_text())))
    assert "PostToolBatch" not in events and "MessageDisplay" not in events and "Setup" in events
    assert events <= set(hook_events.events_for((2, 1, 100)))
    assert set(hook_events.events_for(None)) == set(hook_events.CLASSIC_EVENTS)
    assert hook_events.parse_version("2.1.330 (Claude Code)") == (2, 1, 330)


def test_dry_run_prints_the_change_and_writes_nothing(settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "--dry-run", "--claude-version", "2.1.330", "--endpoint", "http://c:4317"]) == 0
    out = capsys.readouterr().out
    assert "+++" in out and "PreToolUse" in out and "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317" in out
    assert json.loads(settings.read_text()) == ORIGINAL


def test_project_and_local_scopes(isolated_home: Path, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    assert main(["install", "--project", "--project-dir", str(project), "--claude-version", "2.1.330"]) == 0
    assert main(["install", "--local", "--project-dir", str(project), "--claude-version", "2.1.330"]) == 0
    assert _ours(json.loads((project / ".claude" / "settings.json").read_text()))
    assert _ours(json.loads((project / ".claude" / "settings.local.json").read_text()))
    assert not (isolated_home / ".claude" / "settings.json").exists()


def test_config_file_holds_standard_names_and_is_private(isolated_home: Path) -> None:
    argv = ["install", "--claude-version", "2.1.330", "--endpoint", "http://collector:4317",
            "--headers", "authorization=Bearer x", "--resource-attributes", "team=a",
            "--prometheus-port", "9999"]  # fmt: skip
    assert main(argv) == 0
    config = isolated_home / ".config" / "otel-claude" / "otel-claude.env"
    text = config.read_text()
    for line in ("OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317",
                 "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer x",
                 "OTEL_RESOURCE_ATTRIBUTES=team=a", "OTEL_EXPORTER_PROMETHEUS_PORT=9999"):  # fmt: skip
        assert line in text
    assert config.stat().st_mode & 0o777 == 0o600


def test_invalid_settings_file_is_never_rewritten(settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings.write_text("{ not json")
    assert main(["install", "--claude-version", "2.1.330"]) == 1
    assert settings.read_text() == "{ not json" and "not valid JSON" in capsys.readouterr().err
