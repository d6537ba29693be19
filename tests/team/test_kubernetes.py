"""deploy/kubernetes/: the gateway manifests validate offline against the Kubernetes schemas (kubernetes-validate,
strict: an unknown field is an error), carry the gateway config unchanged, and the Helm values of the upstream
Tempo and Mimir charts name the services the gateway sends to."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml
from stack.stack_files import ROOT

from .test_gateway_collector import GATEWAY

KUBERNETES = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
HELM_VALUES = KUBERNETES / "helm"
# The oldest Kubernetes minor still commonly run, and the newest the validator knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
        for path in MANIFESTS
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


DOCUMENTS = _documents()


def _by_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for _, doc in DOCUMENTS if doc["kind"] == kind]
    return found


def test_there_are_manifests() -> None:
    kinds = {doc["kind"] for _, doc in DOCUMENTS}
    assert {"ConfigMap", "StatefulSet", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name, document", DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_manifest_validates_against_the_kubernetes_schema(name: str, document: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_refuses_what_the_schema_does_not_allow() -> None:
    """The check above can fail: a misspelt field in the StatefulSet is refused."""
    statefulset = yaml.safe_load(yaml.safe_dump(_by_kind("StatefulSet")))
    statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, VERSIONS[-1], strict=True)


def test_the_config_map_carries_the_gateway_config_unchanged() -> None:
    data = _by_kind("ConfigMap")["data"]["collector-gateway.yaml"]
    assert data == GATEWAY.read_text(encoding="utf-8"), "copy deploy/gateway/collector-gateway.yaml into the ConfigMap"


def test_the_statefulset_wires_what_the_config_reads() -> None:
    spec = _by_kind("StatefulSet")["spec"]
    container = spec["template"]["spec"]["containers"][0]
    config_text = GATEWAY.read_text(encoding="utf-8")
    assert container["image"].endswith(":0.159.0") and "otelcol-contrib 0.159.0" in config_text
    env = {item["name"]: item for item in container["env"]}
    for name in ("TEMPO_OTLP_ENDPOINT", "PROMETHEUS_REMOTE_WRITE_ENDPOINT", "OTELCOL_BEARER_TOKEN_FILE",
                 "OTELCOL_TLS_CERT_FILE", "OTELCOL_TLS_KEY_FILE"):  # fmt: skip
        assert f"${{env:{name}:-" in config_text and name in env, name
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["OTELCOL_BEARER_TOKEN_FILE"]["value"].startswith(mounts["token"] + "/")
    assert env["OTELCOL_TLS_CERT_FILE"]["value"].startswith(mounts["tls"] + "/")
    # The queue and the WAL default under /var/lib/otelcol: on the replica's own persistent volume.
    assert mounts["queue"] == "/var/lib/otelcol"
    assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["queue"]
    assert "limits" in container["resources"] and env["GOMEMLIMIT"]["valueFrom"]["resourceFieldRef"]


def test_helm_values_name_the_services_the_gateway_sends_to() -> None:
    container = _by_kind("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    tempo = yaml.safe_load((HELM_VALUES / "tempo-distributed-values.yaml").read_text(encoding="utf-8"))
    assert tempo["traces"]["otlp"]["grpc"]["enabled"] is True
    assert env["TEMPO_OTLP_ENDPOINT"].startswith("tempo-distributor.") and env["TEMPO_OTLP_ENDPOINT"].endswith(":4317")
    mimir = yaml.safe_load((HELM_VALUES / "mimir-distributed-values.yaml").read_text(encoding="utf-8"))
    assert mimir["gateway"]["enabledNonEnterprise"] is True and mimir["nginx"]["enabled"] is False
    assert env["PROMETHEUS_REMOTE_WRITE_ENDPOINT"].startswith("http://mimir-gateway.")
    assert env["PROMETHEUS_REMOTE_WRITE_ENDPOINT"].endswith("/api/v1/push")
    assert env["MIMIR_TENANT"] == "otel-claude"
