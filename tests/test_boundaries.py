"""The package's folders mean something: who may import whom, read from the source (AST), never by importing it.

The hook's own `-X importtime` check (what it really loads at run time) is in tests/test_hook.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.import_graph import PACKAGE, ModuleInfo, closure, cycles, edges, read_package, target

ROOT = Path(__file__).resolve().parents[1]
ARGPARSE_USERS = ("otel_claude.cli", "otel_claude.backfill.command", "otel_claude.install.command")
# What `otel-claude status` and `otel-claude replay` run: they must start fast and work without an SDK set up.
SDK_FREE_COMMANDS = ("otel_claude.cli.status", "otel_claude.cli.replay")


@pytest.fixture(scope="module")
def modules() -> dict[str, ModuleInfo]:
    return read_package(ROOT)


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _top(module: str) -> str:
    return module.split(".")[0]


def handoff_violations(modules: dict[str, ModuleInfo]) -> list[str]:
    allowed_ours = ("otel_claude.handoff", "otel_claude.version")
    found = []
    for info in modules.values():
        if not _within(info.name, "otel_claude.handoff"):
            continue
        for ref in info.imports:
            if ref.module == "__future__" or _top(ref.module) in sys.stdlib_module_names:
                continue
            if not _within(ref.module, *allowed_ours):
                found.append(f"{info.name}:{ref.line} imports {ref.module}")
    return sorted(found)


def layer_violations(modules: dict[str, ModuleInfo], layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{info.name}:{ref.line} imports {ref.module}"
        for info in modules.values()
        if _within(info.name, layer)
        for ref in info.imports
        if _within(ref.module, *forbidden)
    )


def argparse_violations(modules: dict[str, ModuleInfo]) -> list[str]:
    return [
        f"{info.name}:{ref.line}"
        for info in modules.values()
        for ref in info.imports
        if ref.module == "argparse" and not _within(info.name, *ARGPARSE_USERS)
    ]


def sdk_imports_reached(modules: dict[str, ModuleInfo], command: str) -> list[str]:
    return sorted(
        {
            f"{name}:{ref.line} imports {ref.module}"
            for name in closure(modules, [command])
            for ref in modules[name].imports
            if _within(ref.module, "opentelemetry.sdk")
        }
    )


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reach_throughs(modules: dict[str, ModuleInfo]) -> list[str]:
    """`from otel_claude.x import _y`, or `x._y` on an imported package module x, in any module but x itself:
    a private name is its module's to change."""
    found = [
        f"{info.name}:{ref.line} imports {ref.module}.{ref.name}"
        for info in modules.values()
        for ref in info.imports
        if _within(ref.module, PACKAGE)
        and ref.name is not None
        and _private(ref.name)
        and ref.module != info.name
        and target(ref, modules) == ref.module  # importing a private *module* by name is a different matter
    ]
    for info in modules.values():
        bound_modules = {
            ref.bound: reached
            for ref in info.imports
            if (reached := target(ref, modules)) is not None
            and (ref.name is None or reached != ref.module)  # the name is a module, not a function in one
            and (ref.name is not None or ref.bound != ref.module.split(".")[0] or ref.module == ref.bound)
        }
        found += [
            f"{info.name}:{line} reads {bound_modules[name]}.{attr}"
            for line, name, attr in info.attribute_uses
            if name in bound_modules and _private(attr) and bound_modules[name] != info.name
        ]
    return sorted(found)


def test_handoff_imports_only_the_standard_library(modules: dict[str, ModuleInfo]) -> None:
    assert any(_within(name, "otel_claude.handoff") for name in modules)
    assert handoff_violations(modules) == []


def test_export_knows_nothing_of_claude_code(modules: dict[str, ModuleInfo]) -> None:
    assert layer_violations(modules, "otel_claude.export", ("otel_claude.live", "otel_claude.transcripts")) == []


def test_transcripts_never_import_live(modules: dict[str, ModuleInfo]) -> None:
    assert layer_violations(modules, "otel_claude.transcripts", ("otel_claude.live",)) == []


def test_only_command_modules_parse_arguments(modules: dict[str, ModuleInfo]) -> None:
    users = {info.name for info in modules.values() for ref in info.imports if ref.module == "argparse"}
    assert users  # the check reads real imports
    assert argparse_violations(modules) == []


@pytest.mark.parametrize("command", SDK_FREE_COMMANDS)
def test_status_and_replay_never_import_the_sdk(modules: dict[str, ModuleInfo], command: str) -> None:
    assert command in closure(modules, [command])
    assert sdk_imports_reached(modules, command) == []


def test_no_module_imports_another_modules_private_name(modules: dict[str, ModuleInfo]) -> None:
    assert private_reach_throughs(modules) == []


def test_no_import_cycle(modules: dict[str, ModuleInfo]) -> None:
    graph = edges(modules)
    assert sum(len(targets) for targets in graph.values()) > len(graph) // 2  # the graph is really read
    assert cycles(graph) == []


def test_the_checks_catch_planted_violations(tmp_path: Path) -> None:
    """Each rule fails on a tree that breaks it: a check that cannot fail is no check."""
    pkg = tmp_path / PACKAGE
    files = {
        "__init__.py": "",
        "handoff/__init__.py": "",
        "handoff/spool.py": "import json\nimport pydantic\nfrom otel_claude.live import state\n",
        "export/__init__.py": "",
        "export/outbox.py": "from otel_claude.transcripts.model import Usage\n",
        "transcripts/__init__.py": "",
        "transcripts/model.py": "from otel_claude.live.state import _helper\nimport argparse\n",
        "live/__init__.py": "",
        "live/state.py": "from otel_claude.transcripts import model\n\ndef _helper() -> None: ...\n",
        "agent/__init__.py": "",
        "agent/loop.py": "from otel_claude.live import state as st\n\ndef run() -> None:\n    st._helper()\n",
        "cli/__init__.py": "",
        "cli/status.py": "from otel_claude.export import outbox\n",
        "cli/replay.py": "def run() -> None:\n    from otel_claude.live import state\n",
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    (pkg / "export" / "outbox.py").write_text(
        "from opentelemetry.sdk.metrics.export import MetricExporter\nfrom otel_claude.transcripts.model import Usage\n"
    )
    planted = read_package(tmp_path)
    assert handoff_violations(planted) == [
        "otel_claude.handoff.spool:2 imports pydantic",
        "otel_claude.handoff.spool:3 imports otel_claude.live",
    ]
    assert layer_violations(planted, "otel_claude.export", ("otel_claude.live", "otel_claude.transcripts"))
    assert layer_violations(planted, "otel_claude.transcripts", ("otel_claude.live",))
    assert argparse_violations(planted) == ["otel_claude.transcripts.model:2"]
    assert private_reach_throughs(planted) == [
        "otel_claude.agent.loop:4 reads otel_claude.live.state._helper",
        "otel_claude.transcripts.model:1 imports otel_claude.live.state._helper",
    ]
    graph = edges(planted)
    assert cycles(graph) == [["otel_claude.live.state", "otel_claude.transcripts.model"]]
    assert sdk_imports_reached(planted, "otel_claude.cli.status") == [
        "otel_claude.export.outbox:1 imports opentelemetry.sdk.metrics.export"
    ]
    assert "otel_claude.live.state" in closure(planted, ["otel_claude.cli.replay"])  # a deferred import counts
