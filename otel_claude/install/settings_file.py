"""Edits Claude Code's settings.json: adds our hook to each event, and removes exactly that again.

Nothing else in the file changes: other settings and other hooks are kept as they are, a second install is a
no-op, the first change leaves a backup beside the file, and a file that is not valid JSON is never rewritten.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import otel_claude
from otel_claude.install import native_hook

HOOK_TIMEOUT_S = 10  # a hook that hangs costs the session this much at most, not Claude Code's 600 s default
BACKUP_SUFFIX = ".otel-claude.bak"
# Every command we write contains it (hook.<hash>.bin, hook.sh, hook.py); uninstall removes only those.
MARKER = "otel_claude/hook."


class SettingsError(RuntimeError):
    """The settings file cannot be edited safely (not JSON, not an object, unexpected shapes)."""


@dataclass(frozen=True)
class Change:
    path: Path
    before: str | None  # None: the file did not exist
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.before or "").splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"{self.path} (now)",
                tofile=f"{self.path} (after)",
            )
        )


# Claude Code's machine-wide managed settings (install --managed).
LINUX_PATH = Path("/etc/claude-code/managed-settings.json")
MACOS_PATH = Path("/Library/Application Support/ClaudeCode/managed-settings.json")


def managed_settings_path(platform: str | None = None) -> Path:
    """Where Claude Code reads machine-wide managed settings on this platform."""
    return MACOS_PATH if (platform or sys.platform) == "darwin" else LINUX_PATH


def settings_path(scope: str, project_dir: str = ".") -> Path:
    """Where Claude Code reads settings for a scope (CLAUDE_CONFIG_DIR moves ~/.claude)."""
    if scope == "managed":
        return managed_settings_path()
    if scope == "user":
        base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
        return Path(base) / "settings.json"
    name = "settings.json" if scope == "project" else "settings.local.json"
    return Path(project_dir).resolve() / ".claude" / name


def hook_script(name: str = "hook.py") -> str:
    return os.path.join(os.path.dirname(os.path.abspath(otel_claude.__file__)), name)


HookKind = Literal["auto", "native", "shell", "python"]
HOOK_KINDS: tuple[HookKind, ...] = ("auto", "native", "shell", "python")


def hook_command(state_dir: str | None, kind: HookKind = "auto") -> str:
    """The command Claude Code runs, by `kind`:
    - native: the compiled fast path (hook.c, built here by `native_hook`), where a C compiler and /proc exist;
    - shell: the bash fast path (hook.sh) where bash and /proc exist;
    - python: this installation's interpreter running hook.py with no site import, wherever Python runs;
    - auto: the first of these that this machine can run.
    Each takes the state dir on the command line, since Claude Code strips OTEL_* variables from hooks. With no
    state dir (a managed install shared by every user) the hook resolves the user's own when it runs. Raises
    SettingsError when the kind asked for cannot run here."""
    return " ".join(shlex.quote(part) for part in hook_argv(state_dir, kind)[0])


def hook_argv(state_dir: str | None, kind: HookKind = "auto") -> tuple[list[str], str]:
    """(the hook's argv for `kind`, a sentence naming the hook chosen and, for auto, why not a faster one)."""
    fast_paths_possible = os.path.isdir("/proc/self")
    why_not: list[str] = []
    if kind in ("auto", "native"):
        binary, why = native_hook.ensure_built() if fast_paths_possible else (None, "no /proc")
        if binary:
            return [binary, sys.executable, *([state_dir] if state_dir else [])], f"native: {why}"
        if kind == "native":
            raise SettingsError(f"the compiled hook cannot be used: {why}")
        why_not.append(f"no compiled hook: {why}")
    if kind in ("auto", "shell"):
        bash = shutil.which("bash") if fast_paths_possible else None
        if bash:
            argv = [bash, hook_script("hook.sh"), sys.executable, *([state_dir] if state_dir else [])]
            return argv, "; ".join(["shell: hook.sh", *why_not])
        if kind == "shell":
            raise SettingsError("hook.sh cannot be used: no bash or no /proc")
        why_not.append("no bash or no /proc for hook.sh")
    argv = [sys.executable, "-I", "-S", hook_script(), *(["--state-dir", state_dir] if state_dir else [])]
    return argv, "; ".join(["python: hook.py", *why_not])


def _is_ours(handler: Any) -> bool:
    return isinstance(handler, dict) and MARKER in str(handler.get("command", ""))


def _load(path: Path) -> tuple[str | None, dict[str, Any]]:
    _write_target(path)  # refused now, before anything is planned, if it could not be written in place
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read; a directory cannot be edited
            raise SettingsError(f"{path} is not a regular file; not touching it")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    if not text.strip():
        return text, {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"{path} is not valid JSON ({exc}); not touching it") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} does not hold a JSON object; not touching it")
    return text, data


_INDENT = re.compile(r'^([ \t]+)["{\[\]}]', re.MULTILINE)  # the first indented line of a pretty-printed file


def _render(data: dict[str, Any], like: str | None = None) -> str:
    """`data` as JSON, indented as the file it replaces was (its first indented line's whitespace; 2 spaces for a
    new or one-line file), so an edit shows as the lines it changed, not as the whole file re-indented."""
    found = _INDENT.search(like or "")
    return json.dumps(data, indent=found.group(1) if found else 2, ensure_ascii=False) + "\n"


def _original(path: Path, data: dict[str, Any]) -> str | None:
    """The backup's text (the file before otel-claude first changed it) when it holds exactly `data`: uninstall then
    writes those bytes back, formatting and key order included. None when the file changed since in anything else."""
    try:
        text = path.with_name(path.name + BACKUP_SUFFIX).read_text(encoding="utf-8")
        return text if json.loads(text) == data else None
    except (OSError, ValueError):
        return None


def plan_install(path: Path, events: list[str], command: str) -> Change:
    before, data = _load(path)
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError(f'{path}: "hooks" is not an object; not touching it')
    for event in events:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise SettingsError(f"{path}: hooks.{event} is not a list; not touching it")
        ours = [h for g in groups if isinstance(g, dict) for h in g.get("hooks", []) if _is_ours(h)]
        if len(ours) == 1 and ours[0].get("command") == command:
            continue  # already installed as it should be
        _remove_ours(groups)
        groups.append({"hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}]})
    if before is not None and not _has_changes(before, data):
        return Change(path, before, before)
    return Change(path, before, _render(data, like=before))


def _has_changes(before: str, data: dict[str, Any]) -> bool:
    try:
        return bool(json.loads(before) != data)
    except ValueError:
        return True


def _remove_ours(groups: list[Any]) -> None:
    for group in list(groups):
        if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
            continue
        group["hooks"] = [h for h in group["hooks"] if not _is_ours(h)]
        if not group["hooks"]:
            groups.remove(group)


def plan_uninstall(path: Path) -> Change:
    before, data = _load(path)
    if before is None:
        return Change(path, None, "")
    hooks = data.get("hooks")
    if isinstance(hooks, dict):
        for event in list(hooks):
            groups = hooks[event]
            if isinstance(groups, list):
                _remove_ours(groups)
                if not groups:
                    del hooks[event]
        if not hooks:
            del data["hooks"]
    if not _has_changes(before, data):
        return Change(path, before, before)
    return Change(path, before, _original(path, data) or _render(data, like=before))


def apply(change: Change, mode: int | None = None) -> None:
    """Writes the change atomically, after a one-time backup of the original file; a new file gets `mode`."""
    if not change.changed:
        return
    change.path.parent.mkdir(parents=True, exist_ok=True)
    backup = change.path.with_name(change.path.name + BACKUP_SUFFIX)
    if change.before is not None and not backup.exists():
        shutil.copy2(change.path, backup)
    target = _write_target(change.path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(change.after, encoding="utf-8")
    if target.exists():
        shutil.copymode(target, tmp)
    elif mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, target)


def _write_target(path: Path) -> Path:
    """The file to replace: `path`, or the file it links to (a dotfiles checkout's, say), since replacing the link
    itself would cut the settings off from where they are kept. Only a link of the running user's to a regular file
    of theirs is followed; anything else is refused, not written through."""
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISLNK(link.st_mode):
        return path
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode) or not link.st_uid == info.st_uid == os.getuid():
        raise SettingsError(f"{path} links to {target}, which is not a regular file of yours; not touching it")
    return target
