"""Several agents (distinct users, hosts and teams, each with its own HOME and state dir) send to one TLS OTLP
receiver that requires a bearer token, with the settings `otel-claude install` wrote to each config file.

Checks: every span and metric arrives labelled by its user and host; a wrong token is refused and nothing is
released from that agent's spool; nothing is lost while the receiver restarts."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SESSIONS, load_session
from support.otlp_receiver import OtlpReceiver, free_port, span_attributes
from support.processes import OTEL_CLAUDE, stop_agent, wait_for

from otel_claude import semconv as sc
from otel_claude.handoff import spool

from .certs import Certificates, make_certificates

pytestmark = pytest.mark.integration

TOKEN = "team-token-0123456789"


@dataclass
class Agent:
    user: str
    host: str
    team: str
    home: Path
    env: dict[str, str]

    @property
    def state_dir(self) -> str:
        return str(self.home / "state")

    def status(self) -> dict[str, object]:
        try:
            return dict(json.loads((Path(self.state_dir) / "status.json").read_text()))
        except (OSError, ValueError):
            return {}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def gateway(certificates: Certificates) -> Iterator[OtlpReceiver]:
    server = OtlpReceiver(tls=(certificates.server_chain, certificates.server_key), token=TOKEN).start()
    yield server
    server.stop()


def _agent(tmp_path: Path, endpoint: str, ca: Path, user: str, host: str, team: str, token: str, *extra: str) -> Agent:
    home = tmp_path / user
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "XDG_"))}
    env.update(
        HOME=str(home),
        OTEL_CLAUDE_DEBUG="1",
        OTEL_CLAUDE_SYSTEM_CONFIG_FILE=str(tmp_path / "no-system.env"),
        # Only what a test needs differently from production; the exporter settings come from the config file.
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_METRIC_EXPORT_INTERVAL="500",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    install = [*OTEL_CLAUDE, "install", "--claude-version", "2.1.330", "--endpoint", endpoint,
               "--headers", f"authorization=Bearer {token}", "--certificate", str(ca),
               "--resource-attributes", f"user.name={user},host.name={host}", "--team", team, *extra]  # fmt: skip
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = home / ".config" / "otel-claude" / "otel-claude.env"
    assert config.stat().st_mode & 0o777 == 0o600
    return Agent(user, host, team, home, env)


def _replay(agent: Agent, session: str, *extra: str) -> subprocess.Popen[str]:
    args = [*OTEL_CLAUDE, "replay", str(SESSIONS / session / "hooks.jsonl"), "--transcripts-root",
            str(SESSIONS / session / "transcripts"), "--state-dir", agent.state_dir, *extra]  # fmt: skip
    return subprocess.Popen(args, env=agent.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> None:
    _, stderr = proc.communicate(timeout=150)
    assert proc.returncode == 0, stderr


def _tool_call_ids(session: str) -> set[str]:
    ids = {e["payload"]["tool_use_id"] for e in load_session(session) if e["event"] == "PreToolUse"}
    assert ids, f"the {session} fixture has tool calls"
    return ids


def _tool_ids_by_user(receiver: OtlpReceiver) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for resource, span in receiver.spans_by_resource():
        attributes = span_attributes(span)
        if attributes.get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL:
            found.setdefault(str(resource[sc.USER_NAME]), set()).add(str(attributes[sc.GEN_AI_TOOL_CALL_ID]))
    return found


def _failed_exports(agent: Agent) -> int:
    export = agent.status().get("span_export")
    return int(export.get("failures", 0)) if isinstance(export, dict) else 0


def test_agents_of_a_team_deliver_everything_labelled_and_a_wrong_token_delivers_nothing(
    tmp_path: Path, gateway: OtlpReceiver, certificates: Certificates
) -> None:
    people = [("alice", "laptop-a", "payments"), ("bob", "laptop-b", "payments"), ("carol", "desk-c", "search")]
    agents = [_agent(tmp_path, gateway.endpoint, certificates.ca, *who, TOKEN) for who in people]
    mallory = _agent(tmp_path, gateway.endpoint, certificates.ca, "mallory", "laptop-m", "payments", "wrong-token")
    try:
        runs = [_replay(agent, "main", "--wait", "--timeout", "120") for agent in agents]
        wrong = _replay(mallory, "main")
        for proc in (*runs, wrong):
            _finish(proc)
        expected = _tool_call_ids("main")
        assert _tool_ids_by_user(gateway) == {agent.user: expected for agent in agents}
        hosts = {str(r[sc.USER_NAME]): (r[sc.HOST_NAME], r[sc.CC_TEAM]) for r, _ in gateway.spans_by_resource()}
        assert hosts == {a.user: (a.host, a.team) for a in agents}

        def metrics_from_everyone() -> bool:
            users = {str(r.get(sc.USER_NAME)) for r, name, _ in gateway.data_points_by_resource()
                     if name == sc.METRIC_TOOL_CALLS}  # fmt: skip
            return users == {agent.user for agent in agents}

        wait_for(metrics_from_everyone, 30, "every agent's tool-call metric")
        points = gateway.data_points_by_resource()
        assert points
        for resource, name, attributes in points:
            # Every data point is labelled by the user, host and team of the agent that sent it.
            assert attributes[sc.USER_NAME] == resource[sc.USER_NAME], name
            assert attributes[sc.HOST_NAME] == resource[sc.HOST_NAME], name
            assert attributes[sc.CC_TEAM] == resource[sc.CC_TEAM], name

        # The wrong token: refused at the door, nothing of mallory's recorded, nothing released from its spool.
        wait_for(lambda: _failed_exports(mallory) > 0, 60, "mallory's refused export")
        assert gateway.refused > 0
        assert all(r.get(sc.USER_NAME) != "mallory" for r, _ in gateway.spans_by_resource())
        assert all(r.get(sc.USER_NAME) != "mallory" for r, _, _ in gateway.data_points_by_resource())
        assert spool.pending_names(spool.SpoolPaths(mallory.state_dir)), "undelivered records stay in the spool"
    finally:
        for agent in (*agents, mallory):
            stop_agent(agent.state_dir, agent.env)


def test_nothing_is_lost_while_the_gateway_restarts(tmp_path: Path, certificates: Certificates) -> None:
    port = free_port()
    tls = (certificates.server_chain, certificates.server_key)
    first = OtlpReceiver(port, tls=tls, token=TOKEN).start()
    agents = [
        _agent(tmp_path, first.endpoint, certificates.ca, user, host, "payments", TOKEN)
        for user, host in (("dan", "host-d"), ("erin", "host-e"))
    ]
    try:
        for proc in [_replay(agent, "main", "--wait", "--timeout", "120") for agent in agents]:
            _finish(proc)
        assert _tool_ids_by_user(first) == {agent.user: _tool_call_ids("main") for agent in agents}
        first.stop()
        # The gateway is away: the next sessions wait in each agent's spool.
        for proc in [_replay(agent, "extras") for agent in agents]:
            _finish(proc)
        for agent in agents:
            wait_for(lambda agent=agent: _failed_exports(agent) > 0, 60, f"{agent.user}'s failed export")
            assert spool.pending_names(spool.SpoolPaths(agent.state_dir)), "nothing released while undelivered"
        second = OtlpReceiver(port, tls=tls, token=TOKEN).start()
        try:
            for agent in agents:
                paths = spool.SpoolPaths(agent.state_dir)
                wait_for(lambda paths=paths: not spool.pending_names(paths), 120, f"{agent.user}'s spool to drain")
            expected = _tool_call_ids("extras")
            wait_for(
                lambda: _tool_ids_by_user(second) == {agent.user: expected for agent in agents},
                30,
                "every tool call of the sessions spooled while the gateway was away",
            )
        finally:
            second.stop()
    finally:
        first.stop()
        for agent in agents:
            stop_agent(agent.state_dir, agent.env)


def test_mutual_tls_with_the_client_certificate_from_install(tmp_path: Path, certificates: Certificates) -> None:
    """A gateway that also requires a client certificate: the agent presents the one install wrote; an agent
    without it cannot connect and keeps its records."""
    ca = certificates.ca.read_bytes()
    tls = (certificates.server_chain, certificates.server_key)
    gateway = OtlpReceiver(tls=tls, token=TOKEN, client_ca=ca).start()
    client = ("--client-certificate", str(certificates.client_certificate),
              "--client-key", str(certificates.client_key))  # fmt: skip
    frank = _agent(tmp_path, gateway.endpoint, certificates.ca, "frank", "host-f", "infra", TOKEN, *client)
    grace = _agent(tmp_path, gateway.endpoint, certificates.ca, "grace", "host-g", "infra", TOKEN)
    try:
        with_certificate = _replay(frank, "main", "--wait", "--timeout", "120")
        without = _replay(grace, "main")
        for proc in (with_certificate, without):
            _finish(proc)
        assert _tool_ids_by_user(gateway) == {"frank": _tool_call_ids("main")}
        wait_for(lambda: _failed_exports(grace) > 0, 60, "grace's failed handshake")
        assert spool.pending_names(spool.SpoolPaths(grace.state_dir))
    finally:
        gateway.stop()
        for agent in (frank, grace):
            stop_agent(agent.state_dir, agent.env)
