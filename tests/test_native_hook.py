"""The compiled hook's build: one binary per hook.c content, checked before use, never a half-built one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from otel_claude.install import native_hook
from otel_claude.install import settings_file as installer


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A package directory of our own, holding only hook.c: builds there touch nothing shared."""
    directory = tmp_path / "package"
    directory.mkdir()
    shutil.copy(installer.hook_script("hook.c"), directory / "hook.c")
    return directory


def test_built_once_per_source_and_named_by_its_hash(package: Path) -> None:
    binary, why = native_hook.ensure_built(str(package))
    assert binary and Path(binary).parent == package and why == f"compiled hook.c ({binary})"
    assert installer.MARKER in f"otel_claude/{Path(binary).name}", "uninstall must recognise the command naming it"
    built = os.stat(binary)
    assert built.st_mode & 0o777 == 0o755  # every user's hook may run it (install --managed)
    assert native_hook.ensure_built(str(package))[0] == binary
    assert os.stat(binary).st_mtime_ns == built.st_mtime_ns, "an existing binary is reused, not rebuilt"

    (package / "hook.c").write_text((package / "hook.c").read_text() + "\n/* changed */\n")
    rebuilt, _ = native_hook.ensure_built(str(package))
    assert rebuilt and rebuilt != binary and os.path.exists(binary), "a new source, a new binary; the old one stays"
    assert sorted(p.name for p in package.iterdir() if p.name.startswith(".")) == []  # no scratch left


def test_no_compiler_no_binary(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_hook, "compiler", lambda: None)
    assert native_hook.ensure_built(str(package)) == (None, "no C compiler (cc) on PATH")


def test_a_package_directory_we_cannot_write_to_is_left_alone(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")  # as for a user beside a root-owned site-packages

    monkeypatch.setattr(native_hook.tempfile, "mkstemp", refuse)
    binary, why = native_hook.ensure_built(str(package))
    assert binary is None and why.startswith("cannot write beside hook.c") and "Permission denied" in why


def test_a_binary_that_fails_its_check_is_not_used(package: Path, tmp_path: Path) -> None:
    # A "compiler" whose output runs but does not spool: it prints to stdout, which Claude Code would read.
    fake_cc = tmp_path / "cc"
    fake_cc.write_text(
        '#!/bin/sh\nwhile [ "$1" != -o ]; do shift; done\nprintf \'#!/bin/sh\\necho decision\\n\' >"$2"\n'
    )
    fake_cc.chmod(0o755)
    binary, why = native_hook.ensure_built(str(package), cc=str(fake_cc))
    assert binary is None and "exited 0 with output b'decision\\n'" in why
    assert [p.name for p in package.iterdir()] == ["hook.c"], "nothing half-built is left behind"


def test_a_compile_error_is_reported(package: Path) -> None:
    (package / "hook.c").write_text("this is not C\n")
    binary, why = native_hook.ensure_built(str(package))
    assert binary is None and "failed" in why and "error" in why
    assert [p.name for p in package.iterdir()] == ["hook.c"]
