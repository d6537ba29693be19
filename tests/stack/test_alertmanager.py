"""alertmanager/: the template rendered by its entrypoint wrapper (run with this machine's POSIX shell) with no
receiver, a webhook, or a mailbox, each checked by the real `amtool check-config` (Debian's
prometheus-alertmanager); and Prometheus sends its alerts where compose runs Alertmanager."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .stack_files import COMPOSE_FILE, PROMETHEUS_CONFIG, ROOT, load_yaml, require_tool, which

TEMPLATE = ROOT / "alertmanager" / "alertmanager.yml"
ENTRYPOINT = ROOT / "alertmanager" / "entrypoint.sh"


def _render(tmp_path: Path, **env: str) -> tuple[dict[str, Any], str, subprocess.CompletedProcess[str]]:
    shell = shutil.which("sh")
    assert shell
    rendered = tmp_path / "rendered.yml"
    full = {
        "PATH": os.environ["PATH"],
        "ALERTMANAGER_TEMPLATE": str(TEMPLATE),
        "ALERTMANAGER_RENDERED": str(rendered),
        "ALERTMANAGER_BIN": "echo",
        **env,
    }
    result = subprocess.run(
        [shell, str(ENTRYPOINT), "--storage.path=/alertmanager"], env=full, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return load_yaml(rendered), str(rendered), result


def _amtool_check(path: str) -> None:
    amtool = require_tool(which("amtool"), "amtool (Debian prometheus-alertmanager)", "alertmanager.sh")
    result = subprocess.run([amtool, "check-config", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_without_a_receiver_alerts_stay_in_the_ui(tmp_path: Path) -> None:
    config, path, result = _render(tmp_path)
    _amtool_check(path)
    assert config["route"]["receiver"] == "otel-claude"
    assert config["receivers"] == [{"name": "otel-claude"}]
    assert "UI only" in result.stdout
    # Alertmanager then starts on the rendered file, with the compose command's arguments.
    assert result.stdout.splitlines()[-1] == f"--config.file={path} --storage.path=/alertmanager"


def test_one_variable_points_alerts_at_a_webhook(tmp_path: Path) -> None:
    url = "https://hooks.example.com/services/T0/B0?token=a'b&c=1"  # quotes and & survive rendering
    config, path, _ = _render(tmp_path, ALERT_WEBHOOK_URL=url)
    _amtool_check(path)
    (receiver,) = config["receivers"]
    assert receiver["webhook_configs"] == [{"url": url, "send_resolved": True}]
    assert "email_configs" not in receiver


def test_one_variable_points_alerts_at_a_mailbox(tmp_path: Path) -> None:
    config, path, _ = _render(tmp_path, ALERT_EMAIL_TO="me@example.com")
    _amtool_check(path)
    (email,) = config["receivers"][0]["email_configs"]
    assert email["to"] == "me@example.com" and email["smarthost"] == "host.docker.internal:25"
    assert "auth_password" not in email


def test_every_alert_name_in_the_inhibit_rules_exists() -> None:
    from .stack_files import rules

    alerts = {r["alert"] for r in rules() if "alert" in r}
    for rule in load_yaml(TEMPLATE)["inhibit_rules"]:
        for matcher in rule["source_matchers"]:
            assert matcher.split("=", 1)[1].strip('"') in alerts, matcher


def test_prometheus_sends_alerts_where_compose_runs_alertmanager() -> None:
    compose = load_yaml(COMPOSE_FILE)["services"]["alertmanager"]
    targets = [
        t
        for am in load_yaml(PROMETHEUS_CONFIG)["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    assert "./alertmanager:/etc/alertmanager:ro" in compose["volumes"]
    assert compose["entrypoint"] == ["/bin/sh", "/etc/alertmanager/entrypoint.sh"]
    assert {"ALERT_WEBHOOK_URL", "ALERT_EMAIL_TO"} <= set(compose["environment"])
