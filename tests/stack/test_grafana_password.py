"""grafana/docker/admin-password.sh, the Grafana container's entrypoint wrapper, run with this machine's POSIX
shell in place of the image's: the user's password when set, else one generated on the first start, kept in the
data volume, printed once, and never a well-known default."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from .stack_files import GRAFANA

SCRIPT = GRAFANA / "docker" / "admin-password.sh"


@pytest.fixture
def fake_run(tmp_path: Path) -> Path:
    """Stands for the image's /run.sh: records the password and arguments Grafana would start with."""
    script = tmp_path / "run.sh"
    script.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$GF_SECURITY_ADMIN_PASSWORD" "${GRAFANA_ADMIN_PASSWORD-unset}" "$@" '
        '> "$GF_PATHS_DATA/started"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _start(data: Path, fake_run: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    shell = shutil.which("sh")
    assert shell
    data.mkdir(exist_ok=True)
    full = {"PATH": os.environ["PATH"], "GF_PATHS_DATA": str(data), "GRAFANA_ENTRYPOINT": str(fake_run), **env}
    result = subprocess.run([shell, str(SCRIPT), "--extra-arg"], env=full, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result, (data / "started").read_text(encoding="utf-8").splitlines()


def test_generates_once_prints_once_and_reuses(tmp_path: Path, fake_run: Path) -> None:
    data = tmp_path / "grafana-data"
    first, (password, passed_on, arg) = _start(data, fake_run, GRAFANA_ADMIN_PASSWORD="")
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password)
    # Printed in the logs on the first start, on the line the documented grep finds.
    (line,) = [line for line in first.stdout.splitlines() if "admin password" in line]
    assert f"admin password: {password} " in line
    assert passed_on == "unset" and arg == "--extra-arg"  # the image's CMD arguments pass through
    stored = data / "admin-password"
    assert stored.read_text(encoding="utf-8") == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    second, (again, _, _) = _start(data, fake_run)
    assert again == password and password not in second.stdout  # same password, not printed again
    _, (other, _, _) = _start(tmp_path / "another-volume", fake_run)
    assert other != password  # random, not a default


def test_the_users_password_wins(tmp_path: Path, fake_run: Path) -> None:
    data = tmp_path / "grafana-data"
    result, (password, passed_on, _) = _start(data, fake_run, GRAFANA_ADMIN_PASSWORD="users choice")
    assert password == "users choice" and passed_on == "unset"
    assert "users choice" not in result.stdout
    assert not (data / "admin-password").exists()
