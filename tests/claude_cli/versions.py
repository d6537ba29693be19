"""The pinned Claude Code releases (from versions.env, the one place they are set) and where they are installed."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = Path(__file__).with_name("versions.env")
INSTALLER = REPO_ROOT / "scripts" / "install-test-deps" / "npm-claude-code.sh"


def _read_versions() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


_VERSIONS = _read_versions()
CLAUDE_CODE_VERSION: str = _VERSIONS["CLAUDE_CODE_VERSION"]
CLAUDE_CODE_OLD_VERSION: str = _VERSIONS["CLAUDE_CODE_OLD_VERSION"]


def claude_binary(version: str) -> Path:
    """Where the installer puts the `claude` of `version` (it may not be there yet)."""
    return REPO_ROOT / ".cache" / "npm" / f"claude-code-{version}" / "node_modules" / ".bin" / "claude"


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
