"""The models namespace's NetworkPolicies: deny by default, and allow only what serving and its sidecar need (each
allow checked against where its need comes from: the serving port, the AuthorizationPolicy's callers, Istio's ports,
the monitoring namespace, the cloud's capabilities)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_infra.cell_contract import Egress
from lepton_infra.components.existing.lake import S3_PORT
from lepton_infra.components.kubernetes.mesh import EASTWEST_SELECTOR
from lepton_infra.components.kubernetes.model_deployment import PORT
from lepton_infra.components.kubernetes.monitoring import NAMESPACE as MONITORING
from lepton_infra.components.kubernetes.network_policy import ModelsNetworkPolicy
from lepton_infra.testing import run_stack

from _support import custom_resources_after_strict_schema_check, rejected, run_with_provider

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
NS_LABEL = "kubernetes.io/metadata.name"
STACKS = Path(__file__).resolve().parents[2] / "stacks"


def args(**overrides):
    return {"namespace": "models", "callers": {"llm": ["istio-ingress"], "embedder": []}, "serving_ports": [PORT],
            "monitoring_namespace": MONITORING, **overrides}


def policies(plan) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(POLICY)}


def planned(**overrides):
    return run_with_provider(lambda opts: ModelsNetworkPolicy("net", args(**overrides), opts=opts))


def namespaces_of(peers) -> set[str]:
    return {p["namespaceSelector"]["matchLabels"][NS_LABEL] for p in peers if "podSelector" not in p}


def test_the_policies_pass_the_kubernetes_schema_and_live_in_the_models_namespace():
    plan = planned()
    assert custom_resources_after_strict_schema_check(plan) == []
    assert {r.inputs["metadata"]["namespace"] for r in plan.of_type(POLICY)} == {"models"}
    assert set(policies(plan)) == {"default-deny", "egress", "metrics", "serve-embedder", "serve-llm"}


def test_every_pod_is_denied_both_ways_unless_allowed():
    deny = policies(planned())["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_each_model_admits_its_own_namespace_and_its_callers_on_the_serving_port_only():
    found = policies(planned())
    llm, embedder = found["serve-llm"], found["serve-embedder"]
    assert llm["podSelector"] == {"matchLabels": {"app": "llm"}} and llm["policyTypes"] == ["Ingress"]
    (rule,) = llm["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": PORT}]
    assert namespaces_of(rule["from"]) == {"models", "istio-ingress"}
    assert namespaces_of(embedder["ingress"][0]["from"]) == {"models"}  # no caller named: not the ingress gateway


def test_in_a_mesh_of_cells_the_east_west_gateway_may_reach_the_serving_port():
    (rule,) = policies(planned(east_west_gateway=EASTWEST_SELECTOR))["serve-llm"]["ingress"]
    gateway = [p for p in rule["from"] if "podSelector" in p]
    # One peer with both selectors: the gateway's pods in istio-system (AND), not every pod of istio-system.
    assert gateway == [{"namespaceSelector": {"matchLabels": {NS_LABEL: "istio-system"}},
                        "podSelector": {"matchLabels": EASTWEST_SELECTOR}}]
    (single,) = policies(planned())["serve-llm"]["ingress"]
    assert all("podSelector" not in p for p in single["from"])


def test_prometheus_reads_the_sidecars_merged_metrics_port_and_nothing_else():
    metrics = policies(planned())["metrics"]
    assert metrics["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {NS_LABEL: MONITORING}}}],
                                   "ports": [{"protocol": "TCP", "port": 15020}]}]
    assert "metrics" not in policies(planned(monitoring_namespace=None))


def test_egress_is_dns_istiod_https_and_the_clouds_additions_only():
    extra = Egress(port=988, cidr="169.254.169.252/32", why="metadata")
    rules = policies(planned(egress=[extra]))["egress"]["egress"]
    assert all(rule.get("ports") for rule in rules), "a rule without ports would allow every port"
    dns, istiod, https, added = rules
    assert dns == {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    assert istiod["ports"] == [{"protocol": "TCP", "port": 15012}]
    assert istiod["to"] == [{"namespaceSelector": {"matchLabels": {NS_LABEL: "istio-system"}},
                             "podSelector": {"matchLabels": {"app": "istiod"}}}]
    assert https == {"ports": [{"protocol": "TCP", "port": 443}]}
    assert added == {"ports": [{"protocol": "TCP", "port": 988}], "to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}]}


def test_no_serving_port_is_refused_before_anything_registers():
    error, plan = rejected(lambda: ModelsNetworkPolicy("net", args(serving_ports=[])))
    assert "serving_ports" in str(error) and not plan.of_type(POLICY)


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod", STACKS)


def test_in_every_prod_cell_the_network_admits_exactly_the_namespaces_the_mesh_authorizes(prod):
    for authz in [a for a in prod.of_type(AUTHZ) if a.inputs["metadata"]["namespace"] == "models"]:
        model = authz.inputs["spec"]["selector"]["matchLabels"]["app"]
        cell = authz.name.split(f"-{model}-")[0]
        (policy,) = [r for r in prod.of_type(POLICY) if r.name == f"{cell}-models-network-serve-{model}"]
        (rule,) = policy.inputs["spec"]["ingress"]
        (allowed,) = authz.inputs["spec"]["rules"][0]["from"]
        assert namespaces_of(rule["from"]) == set(allowed["source"]["namespaces"]), authz.name
        assert any(p.get("podSelector") == {"matchLabels": EASTWEST_SELECTOR} for p in rule["from"])  # 3 cells


def test_the_gcp_cell_lets_models_reach_the_gke_metadata_server(prod):
    by_cell = {r.name.split("-models-network-")[0]: r for r in prod.of_type(POLICY) if r.name.endswith("-network-egress")}
    assert set(by_cell) == {"prod-aws-use1", "prod-azure-eus2", "prod-gcp-usc1"}
    for cell, policy in by_cell.items():
        blocks = {rule["to"][0]["ipBlock"]["cidr"] for rule in policy.inputs["spec"]["egress"]
                  if "ipBlock" in (rule.get("to") or [{}])[0]}
        assert blocks == ({"169.254.169.252/32", "169.254.169.254/32"} if "gcp" in cell else set()), cell


def test_an_existing_cluster_lets_models_reach_its_in_cluster_lake():
    plan = run_stack("local", STACKS)
    (policy,) = [r for r in plan.of_type(POLICY) if r.name.endswith("-network-egress")]
    lake = [rule for rule in policy.inputs["spec"]["egress"] if rule["ports"] == [{"protocol": "TCP", "port": S3_PORT}]]
    (seaweed_ns,) = [r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")
                     if "lake" in r.name]
    assert lake == [{"ports": [{"protocol": "TCP", "port": S3_PORT}], "to": [{"namespaceSelector": {"matchLabels": {NS_LABEL: seaweed_ns}}}]}]
