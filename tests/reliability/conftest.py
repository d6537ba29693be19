"""Fixtures of the reliability suite: sandboxes whose agents are always stopped, receivers, Collector faults."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.otlp_receiver import OtlpReceiver

from reliability.harness import BlackholeServer, GatedOtlpReceiver, Sandbox


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """`make_sandbox(endpoint=..., state_dir=..., **env)`: a fresh sandbox; its agents are stopped at teardown.

    Request it after `receiver` and `tmpfs`, so that its agents stop before their Collector and disk go away."""
    made: list[Sandbox] = []

    def make(endpoint: str | None = None, state_dir: str | Path | None = None, **env: str) -> Sandbox:
        sandbox = Sandbox(tmp_path / f"sandbox{len(made)}", endpoint=endpoint, state_dir=state_dir, **env)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def gated_receiver() -> Iterator[GatedOtlpReceiver]:
    server = GatedOtlpReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def blackhole() -> Iterator[BlackholeServer]:
    server = BlackholeServer()
    yield server
    server.close()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`tmpfs("size=1m")`: a tmpfs mounted for the test (skips where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
