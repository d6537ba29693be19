"""Identity: every span and metric of an agent names its user and host (and an opted-in team), with the same
values on the resource and on the metric labels; the labels are constant per agent, so they add no series."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_claude import config
from otel_claude import semconv as sc
from otel_claude.export import resource as providers_resource
from otel_claude.export.constant_labels import ConstantLabelsMeter


def _points(reader: InMemoryMetricReader) -> dict[str, list[dict[str, object]]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: [dict(point.attributes or {}) for point in metric.data.data_points]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }


def test_identity_comes_from_resource_attributes_then_the_login(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "user.name=alice%40example.com,host.name=laptop-7,deployment=x")
    monkeypatch.setenv("OTEL_CLAUDE_TEAM", "payments")
    loaded = config.load()
    assert (loaded.user_name, loaded.host_name, loaded.team) == ("alice@example.com", "laptop-7", "payments")
    assert providers_resource.identity(loaded) == {
        sc.USER_NAME: "alice@example.com",
        sc.HOST_NAME: "laptop-7",
        sc.CC_TEAM: "payments",
    }
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES")
    monkeypatch.delenv("OTEL_CLAUDE_TEAM")
    plain = config.load()
    assert plain.user_name and plain.host_name and plain.team == ""
    assert sc.CC_TEAM not in providers_resource.identity(plain), "no team label unless the organisation opted in"


def test_an_overlong_team_is_refused_with_a_problem(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_CLAUDE_TEAM", "t" * 65)
    loaded = config.load()
    assert loaded.team == "" and [p.name for p in loaded.problems] == ["OTEL_CLAUDE_TEAM"]


def test_the_resource_carries_the_identity(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_CLAUDE_TEAM", "search")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "host.name=build-3")
    resource = providers_resource.build_resource(config.load())
    assert resource.attributes[sc.CC_TEAM] == "search"
    assert resource.attributes[sc.HOST_NAME] == "build-3"
    assert resource.attributes[sc.USER_NAME]


def test_every_instrument_records_the_constant_labels_and_its_own_win() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    identity = {sc.USER_NAME: "bob", sc.HOST_NAME: "h2", sc.CC_TEAM: ""}  # an empty team is left out
    meter = ConstantLabelsMeter(provider.get_meter("t"), identity)

    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(3, {"kind": "backlog"})]

    meter.create_counter("c").add(2, {sc.GEN_AI_TOOL_NAME: "Bash"})
    meter.create_counter("c").add(1, {sc.USER_NAME: "explicit"})
    meter.create_histogram("h", explicit_bucket_boundaries_advisory=[1.0]).record(0.5)
    meter.create_up_down_counter("u").add(-1)
    meter.create_observable_gauge("g", [observe])
    points = _points(reader)
    assert {sc.USER_NAME: "bob", sc.HOST_NAME: "h2", sc.GEN_AI_TOOL_NAME: "Bash"} in points["c"]
    assert {sc.USER_NAME: "explicit", sc.HOST_NAME: "h2"} in points["c"]
    for name in ("h", "u"):
        assert points[name] == [{sc.USER_NAME: "bob", sc.HOST_NAME: "h2"}]
    assert points["g"] == [{sc.USER_NAME: "bob", sc.HOST_NAME: "h2", "kind": "backlog"}]
    provider.shutdown()


def test_constant_labels_add_no_series() -> None:
    """The bound: an agent's series count is the same with and without identity labels."""
    counts = []
    for identity in ({}, {sc.USER_NAME: "carol", sc.HOST_NAME: "h3", sc.CC_TEAM: "infra"}):
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        counter = ConstantLabelsMeter(provider.get_meter("t"), identity).create_counter("calls")
        for tool in ("Bash", "Read", "Edit", "Bash", "Read"):
            counter.add(1, {sc.GEN_AI_TOOL_NAME: tool})
        counts.append(len(_points(reader)["calls"]))
        provider.shutdown()
    assert counts == [3, 3]


def test_an_unreadable_certificate_is_reported_at_start(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(ca))
    assert config.load().problems == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(tmp_path / "gone.key"))
    assert [(p.name, p.value) for p in config.load().problems] == [
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(tmp_path / "gone.key"))
    ]
