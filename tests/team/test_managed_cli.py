"""`install --managed` with the real Claude Code 2.1.330: the hooks in managed settings fire for a non-root user,
each user's events go to that user's own state dir and agent (labelled with that user), `allowManagedHooksOnly`
silences the user's own hooks but not ours, and uninstall removes exactly what install added.

Needs root (CI runs as root): it creates a user, and runs the CLI in a private mount namespace where scratch
directories are bind-mounted over /etc/claude-code and /etc/otel-claude (see namespace_driver.py), so the real
paths are read and written without touching the machine's own files.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from claude_cli.harness import Sandbox, read_hook_records
from claude_cli.versions import CLAUDE_CODE_VERSION, claude_binary
from support.otlp_receiver import OtlpReceiver
from support.processes import stop_agent, wait_for

import otel_claude
from otel_claude import semconv as sc
from otel_claude.install import managed

pytestmark = pytest.mark.claude

DRIVER = Path(__file__).with_name("namespace_driver.py")
WORKTREE = str(Path(otel_claude.__file__).resolve().parents[1])
MOUNT_POINTS = (Path("/etc/claude-code"), Path("/etc/otel-claude"))


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Machine:
    """A scratch root with the user's sandbox and the two directories that stand for /etc/... in the namespace."""

    root: Path
    user: str
    uid: int
    gid: int
    etc_claude_code: Path
    etc_otel_claude: Path

    @property
    def managed_settings(self) -> Path:
        return self.etc_claude_code / "managed-settings.json"

    def run(self, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        spec = self.root / f"spec-{uuid.uuid4().hex}.json"
        out = spec.with_suffix(".out.json")
        mounts = [[str(self.etc_claude_code), "/etc/claude-code"], [str(self.etc_otel_claude), "/etc/otel-claude"]]
        mounts += self._interpreter_mounts()
        spec.write_text(json.dumps({"mounts": mounts, "steps": steps}))
        argv = ["unshare", "-m", "--propagation", "private", sys.executable, str(DRIVER), str(spec), str(out)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stderr
        return {r["name"]: r for r in json.loads(out.read_text())}

    def _interpreter_mounts(self) -> list[list[str]]:
        """A test interpreter under a private home (pyenv in /root, mode 0700) is shown to the user, in the namespace
        only, through an open stand-in for that home holding just the interpreter's tree: what an organisation gets
        by installing otel-claude with a system interpreter (install --managed refuses a private one)."""
        interpreter = os.path.realpath(sys.executable)
        blocked = managed._blocked(interpreter)
        if blocked is None:
            return []
        entry = Path(interpreter).relative_to(blocked).parts[0]
        stand_in = self.root / "open-home"
        (stand_in / entry).mkdir(parents=True, exist_ok=True)
        stand_in.chmod(0o755)
        return [[os.path.join(blocked, entry), str(stand_in / entry)], [str(stand_in), blocked]]


@pytest.fixture
def machine() -> Iterator[Machine]:
    if os.geteuid() != 0:
        _skip_or_fail("needs root: it creates a user and a mount namespace")
    for tool in ("unshare", "useradd", "userdel", "mount"):
        if shutil.which(tool) is None:
            _skip_or_fail(f"needs {tool}")
    if not claude_binary(CLAUDE_CODE_VERSION).exists():
        _skip_or_fail(f"Claude Code {CLAUDE_CODE_VERSION} is not installed")
    created = [p for p in MOUNT_POINTS if not p.exists()]
    for path in created:
        path.mkdir(mode=0o755)  # an empty mount point: Claude Code outside the namespace finds nothing in it
    root = Path(tempfile.mkdtemp(prefix="otel-claude-managed-"))
    root.chmod(0o755)
    name = f"occ{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(root / "home"), "--shell", "/bin/bash", name],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    entry = pwd.getpwnam(name)
    etc_cc, etc_oc = root / "etc-claude-code", root / "etc-otel-claude"
    for path in (etc_cc, etc_oc):
        path.mkdir(mode=0o755)
    try:
        yield Machine(root, name, entry.pw_uid, entry.pw_gid, etc_cc, etc_oc)
    finally:
        # userdel refuses while a process of the user still exits (the agent we stopped): retry for a while.
        wait_for(lambda: subprocess.run(["userdel", name], capture_output=True, timeout=60).returncode in (0, 6),
                 30, f"userdel {name}")  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
        for path in created:
            try:
                path.rmdir()
            except OSError:
                pass  # someone else's files arrived meanwhile: not ours to remove


def _as_root(name: str, *args: str) -> dict[str, Any]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "PYTHONPATH": WORKTREE, "OTEL_CLAUDE_DEBUG": "1"}
    return {"name": name, "argv": [sys.executable, "-m", "otel_claude", *args], "env": env}


def _claude_as_user(machine: Machine, sandbox: Sandbox, name: str) -> dict[str, Any]:
    env = sandbox.env({"USER": machine.user, "LOGNAME": machine.user, "PYTHONPATH": WORKTREE})
    prompt = sandbox.scenario.runs[0].prompt
    argv = sandbox.claude_args(prompt, session_id=sandbox.session_id)
    return {"name": name, "argv": argv, "env": env, "cwd": str(sandbox.workdir), "uid": machine.uid,
            "gid": machine.gid, "timeout": 180}  # fmt: skip


def _user_sandbox(machine: Machine) -> Sandbox:
    sandbox = Sandbox(machine.root / "sandbox", CLAUDE_CODE_VERSION, "tools_ok")
    subprocess.run(["chown", "-R", f"{machine.uid}:{machine.gid}", str(machine.root / "sandbox")], check=True)
    return sandbox


def _tool_spans_of(receiver: OtlpReceiver, user: str) -> set[str]:
    return {
        span.name
        for resource, span in receiver.spans_by_resource()
        if resource.get(sc.USER_NAME) == user and span.name.startswith(sc.GEN_AI_OPERATION_EXECUTE_TOOL)
    }


def _diagnose(state_dir: Path, receiver: OtlpReceiver) -> str:
    """What the user's state dir holds: for a failure message."""
    lines = [f"spans received: {len(receiver.spans())}"]
    for path in sorted(state_dir.rglob("*")) if state_dir.exists() else []:
        lines.append(str(path))
        if path.suffix in (".log", ".json") and path.is_file():
            lines.append(path.read_text(errors="replace")[-3000:])
    return "\n".join(lines) or f"{state_dir} does not exist"


def test_managed_hooks_fire_for_a_non_root_user_into_their_own_agent(machine: Machine) -> None:
    receiver = OtlpReceiver().start()
    sandbox = _user_sandbox(machine)
    state_dir = sandbox.home / ".local" / "state" / "otel-claude"
    user_hook_log = machine.root / "sandbox" / "user-hooks.jsonl"
    sandbox.add_recording_hook(["PreToolUse", "Stop"], user_hook_log)
    subprocess.run(["chown", "-R", f"{machine.uid}:{machine.gid}", str(sandbox.home)], check=True)
    try:
        # 1. As root: the managed install, and the machine's agent settings (an endpoint for every user).
        install = _as_root("install", "install", "--managed", "--claude-version", CLAUDE_CODE_VERSION,
                           "--endpoint", receiver.endpoint, "--team", "qa")  # fmt: skip
        first = machine.run([install, _claude_as_user(machine, sandbox, "claude")])
        assert first["install"]["returncode"] == 0, first["install"]["stderr"]
        assert first["claude"]["returncode"] == 0, first["claude"]["stdout"] + first["claude"]["stderr"]
        settings = json.loads(machine.managed_settings.read_text())
        command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        assert str(sandbox.home) not in command and "/root" not in command, "nothing per user in the command"
        # Our hook fired for the user: the user's own state dir (0700, theirs), the user's own agent, spans
        # labelled with the user's login and the organisation's team.
        try:
            wait_for(lambda: len(_tool_spans_of(receiver, machine.user)) >= 6, 60, "the user's tool spans")
        except AssertionError:
            raise AssertionError(_diagnose(state_dir, receiver)) from None
        assert state_dir.stat().st_uid == machine.uid and state_dir.stat().st_mode & 0o777 == 0o700
        resources = [r for r, _ in receiver.spans_by_resource()]
        assert {r[sc.USER_NAME] for r in resources} == {machine.user}
        assert {r[sc.CC_TEAM] for r in resources} == {"qa"}
        # The user's own hooks fire too while allowManagedHooksOnly is unset.
        assert {r["event"] for r in read_hook_records(user_hook_log)} == {"PreToolUse", "Stop"}

        # 2. allowManagedHooksOnly: the user's own hooks are ignored, the managed ones still fire.
        settings["allowManagedHooksOnly"] = True
        machine.managed_settings.write_text(json.dumps(settings, indent=2))
        user_hook_log.unlink()
        stop_agent(str(state_dir), {**os.environ, "HOME": str(sandbox.home)})
        sandbox.rewind()
        before = len([s for r, s in receiver.spans_by_resource()])
        second = machine.run([_claude_as_user(machine, sandbox, "claude-managed-only")])
        assert second["claude-managed-only"]["returncode"] == 0, second["claude-managed-only"]["stderr"]
        wait_for(lambda: len(receiver.spans()) >= before + 6, 60, "spans of the managed-only run")
        assert read_hook_records(user_hook_log) == [], "user hooks must not run under allowManagedHooksOnly"

        # 3. Uninstall removes exactly what install added: the file it created, and the machine's config file.
        del settings["allowManagedHooksOnly"]
        machine.managed_settings.write_text(json.dumps(settings, indent=2))
        third = machine.run([_as_root("uninstall", "uninstall", "--managed")])
        assert third["uninstall"]["returncode"] == 0, third["uninstall"]["stderr"]
        assert not machine.managed_settings.exists()
        assert list(machine.etc_otel_claude.iterdir()) == []
    finally:
        stop_agent(str(state_dir), {**os.environ, "HOME": str(sandbox.home)})
        sandbox.close()
        receiver.stop()
