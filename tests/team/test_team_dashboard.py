"""The Team dashboard's numbers, per team and per developer, from three real agents (distinct users, two teams)
scraped by a real Prometheus: each panel must show exactly what each agent's own /metrics endpoint says."""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import SESSIONS
from stack.prometheus_bin import prometheus as prometheus_binary
from stack.stack_files import dashboards, substitute
from support.otlp_receiver import OtlpReceiver, free_port
from support.processes import OTEL_CLAUDE, metric_value, scrape, stop_agent
from support.prometheus import Prometheus, finite

pytestmark = pytest.mark.prometheus

TEAM = "claude_code_team"
PEOPLE = (("alice", "payments", "main"), ("bob", "payments", "extras"), ("carol", "search", "main"))


@dataclass
class Developer:
    user: str
    team: str
    session: str
    env: dict[str, str]
    port: int
    text: str = ""

    @property
    def cost(self) -> float:
        return metric_value(self.text, "otel_claude_cost_USD_total")

    @property
    def turns(self) -> float:
        return metric_value(self.text, "otel_claude_turns_total")

    @property
    def tool_calls(self) -> float:
        return metric_value(self.text, "otel_claude_tool_calls_total")


@dataclass
class Team:
    prometheus: Prometheus
    at: float
    developers: list[Developer]

    def panel(self, title: str, ref_id: str = "A") -> str:
        board = dashboards()["otel-claude-team.json"]
        (expr,) = [t["expr"] for p in board["panels"] if p["title"] == title for t in p.get("targets", [])
                   if t["refId"] == ref_id]  # fmt: skip
        return substitute(expr)

    def by(self, title: str, label: str, ref_id: str = "A") -> dict[str, float]:
        samples = finite(self.prometheus.query(self.panel(title, ref_id), at=self.at))
        return {s.labels.get(label, ""): s.value for s in samples}

    def scalar(self, title: str) -> float:
        (sample,) = finite(self.prometheus.query(self.panel(title), at=self.at))
        return sample.value


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    prometheus_binary()
    tmp = tmp_path_factory.mktemp("team")
    receiver = OtlpReceiver().start()
    developers = []
    for user, team_name, session in PEOPLE:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "XDG_")) or k == "OTEL_CLAUDE_DEBUG"}
        port = free_port()
        env.update(HOME=str(tmp / user), OTEL_CLAUDE_STATE_DIR=str(tmp / user / "state"),
                   OTEL_CLAUDE_SYSTEM_CONFIG_FILE=str(tmp / "none.env"),
                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
                   OTEL_METRIC_EXPORT_INTERVAL="500", OTEL_RESOURCE_ATTRIBUTES=f"user.name={user}",
                   OTEL_CLAUDE_TEAM=team_name)  # fmt: skip
        developers.append(Developer(user, team_name, session, env, port))
    server = Prometheus(tmp / "prometheus", [f"127.0.0.1:{d.port}" for d in developers]).start()
    try:
        runs = [
            subprocess.Popen([*OTEL_CLAUDE, "replay", str(SESSIONS / d.session / "hooks.jsonl"), "--transcripts-root",
                              str(SESSIONS / d.session / "transcripts"), "--wait"],
                             env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for d in developers
        ]  # fmt: skip
        for run in runs:
            _, stderr = run.communicate(timeout=180)
            assert run.returncode == 0, stderr
        for developer in developers:
            developer.text = scrape(f"http://127.0.0.1:{developer.port}/metrics")
            server.wait_for_value(f'sum(otel_claude_tool_calls_total{{user_name="{developer.user}"}})',
                                  developer.tool_calls, timeout=30)  # fmt: skip
        server.wait_for_value("max(otel_claude_spool_backlog)", 0, timeout=30)
        # As in tests/stack/test_promql_replay.py: a whole minute ahead, so every step sees the replayed data.
        yield Team(server, math.ceil((time.time() + 20) / 60) * 60, developers)
    finally:
        for developer in developers:
            stop_agent(developer.env["OTEL_CLAUDE_STATE_DIR"], developer.env)
        server.stop()
        receiver.stop()


def test_headline_numbers(team: Team) -> None:
    assert team.scalar("Active developers") == 3
    assert team.scalar("Teams") == 2
    total = sum(d.cost for d in team.developers)
    assert total > 0
    assert team.scalar("Cost") == pytest.approx(total)
    assert team.scalar("Cost per active developer") == pytest.approx(total / 3)
    assert team.scalar("Turns") == sum(d.turns for d in team.developers)


def test_cost_by_team_and_by_user(team: Team) -> None:
    by_team: dict[str, float] = {}
    for developer in team.developers:
        by_team[developer.team] = by_team.get(developer.team, 0.0) + developer.cost
    assert team.by("Cost by team", TEAM) == pytest.approx(by_team)
    assert team.by("Cost by user (top 20)", "user_name") == pytest.approx({d.user: d.cost for d in team.developers})


def test_developer_and_team_tables(team: Team) -> None:
    table = "Cost and activity by developer"
    assert team.by(table, "user_name", "A") == pytest.approx({d.user: d.cost for d in team.developers})
    assert team.by(table, "user_name", "B") == {d.user: d.turns for d in team.developers}
    assert team.by(table, "user_name", "C") == {d.user: d.tool_calls for d in team.developers}
    calls_by_team: dict[str, float] = {}
    for developer in team.developers:
        calls_by_team[developer.team] = calls_by_team.get(developer.team, 0.0) + developer.tool_calls
    assert team.by("Cost and activity by team", TEAM, "C") == calls_by_team


def test_top_tools_and_error_rates(team: Team) -> None:
    top = team.by("Top tools", "gen_ai_tool_name")
    assert sum(top.values()) == sum(d.tool_calls for d in team.developers)
    failed = sum(metric_value(d.text, "otel_claude_tool_calls_total", claude_code_tool_outcome="error")
                 for d in team.developers)  # fmt: skip
    assert failed > 0, "the fixtures have failed tool calls"
    assert team.scalar("Tool error rate") == pytest.approx(failed / sum(d.tool_calls for d in team.developers))
    rates = team.by("Tool error rate by tool", "gen_ai_tool_name", "B")
    assert rates and all(0 < rate <= 1 for rate in rates.values())
