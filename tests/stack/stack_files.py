"""Paths of the stack files and helpers shared by the tests/stack tests: loading dashboards and rules, listing
their queries, and the tools they need (which may skip a test only outside CI)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
COLLECTOR_CONFIG = ROOT / "collector-config.yaml"
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "rules" / "tests").glob("*.yml"))
TEMPO_CONFIG = ROOT / "tempo" / "tempo.yaml"
GRAFANA = ROOT / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml"
FIXTURE_SESSIONS = ROOT / "tests" / "fixtures" / "claude-code-2.1.330" / "sessions"


def require_tool(path: str | None, what: str, installer: str) -> str:
    """The tool's path; a missing tool skips the test on a developer machine and fails it under CI."""
    if path and Path(path).exists():
        return path
    message = f"{what} not found: run scripts/install-test-deps/{installer}"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(message)
    pytest.skip(message)


def which(name: str, *extra_dirs: Path) -> str | None:
    for directory in extra_dirs:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_builder() -> ModuleType:
    """grafana/build_dashboards.py as a module (it is a script beside its helper modules, not a package)."""
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_dashboards", module)
    spec.loader.exec_module(module)
    return module


def load_promql() -> ModuleType:
    """grafana/promql.py, the PromQL helpers the dashboards are built with."""
    spec = importlib.util.spec_from_file_location("promql", GRAFANA / "promql.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict[str, Any]]:
    """Committed dashboard JSON by file name."""
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    panel_type: str
    ref_id: str
    expr: str
    instant: bool

    @property
    def key(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def prom_queries() -> Iterator[PanelQuery]:
    for board in dashboards().values():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield PanelQuery(
                        board["uid"],
                        panel["title"],
                        panel["type"],
                        target["refId"],
                        target["expr"],
                        bool(target.get("instant")),
                    )


def variable_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard uid, variable name, label_values query) of every Prometheus query variable."""
    for board in dashboards().values():
        for variable in board["templating"]["list"]:
            if variable.get("type") == "query":
                yield board["uid"], variable["name"], variable["query"]["query"]


# What the test suite substitutes for Grafana's variables before running a query against Prometheus.
GRAFANA_SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "${tool:regex}": ".*",
    "${model:regex}": ".*",
    "$model": ".*",
    "$project": ".*",
    "$tool": ".*",
    "$user": ".*",
}
SUBSTITUTED_STEP_S = 15


def substitute(expr: str) -> str:
    for variable, value in GRAFANA_SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    # Grafana variable names start with a letter or underscore; `$1` is label_replace's capture group, not one.
    leftover = re.findall(r"\$\{?[A-Za-z_]\w*", expr)
    assert not leftover, f"unsubstituted Grafana variables {leftover} in {expr}"
    return expr


def label_values_query(definition: str) -> str:
    """`label_values(metric, label)` as the PromQL that returns the same label values."""
    match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", definition)
    assert match, f"unexpected variable query {definition}"
    return f"count by ({match.group(2)}) ({match.group(1)})"


def rules() -> Iterator[dict[str, Any]]:
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            yield from group["rules"]
