"""prod's cells are one mesh: one meshID, each istiod its own cluster and network, an east-west gateway and the
cross-network Gateway per cell, and in every cluster a remote secret for each other cluster, built from a reader
token of that cluster (never a kubeconfig that runs a cloud CLI)."""

import base64
import itertools
import json

import pytest

from lepton_infra.components.aws.cell import CAPABILITIES as AWS
from lepton_infra.components.azure.cell import CAPABILITIES as AZURE
from lepton_infra.components.gcp.cell import CAPABILITIES as GCP

from mesh_support import RELEASE, SECRET, in_cell, one_in_cell, prod

PROD_CELLS = ["aws-use1", "azure-eus2", "gcp-usc1"]
CAPABILITIES = {"aws-use1": AWS, "azure-eus2": AZURE, "gcp-usc1": GCP}
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"


def istiod(cell: str):
    return one_in_cell(prod(), cell, RELEASE, "-mesh-istiod").inputs["values"]


def remote_secrets():
    return [s for s in prod().of_type(SECRET) if (s.inputs["metadata"].get("labels") or {}).get("istio/multiCluster") == "true"]


def provider_of(cell: str) -> str:
    """The Kubernetes provider the cell's in-cluster objects use (its istiod's)."""
    return one_in_cell(prod(), cell, RELEASE, "-mesh-istiod").provider


def test_every_istiod_has_the_one_mesh_id_and_its_own_cluster_and_network():
    values = {cell: istiod(cell)["global"] for cell in PROD_CELLS}
    assert {v["meshID"] for v in values.values()} == {"lepton"}
    assert {cell: v["multiCluster"]["clusterName"] for cell, v in values.items()} == {c: c for c in PROD_CELLS}
    networks = {cell: v["network"] for cell, v in values.items()}
    assert networks == {c: f"{c}-network" for c in PROD_CELLS}


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_istio_system_is_labelled_with_the_cells_network(cell):
    [ns] = [r for r in in_cell(prod(), cell) if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] == "istio-system"]
    assert ns.inputs["metadata"]["labels"]["topology.istio.io/network"] == f"{cell}-network"


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_each_cell_has_an_internal_east_west_gateway_for_its_network(cell):
    release = one_in_cell(prod(), cell, RELEASE, "-mesh-istio-eastwestgateway")
    values = release.inputs["values"]
    assert release.inputs["chart"] == "gateway" and release.inputs["name"] == "istio-eastwestgateway"
    assert release.inputs["namespace"] == "istio-system"
    assert values["networkGateway"] == f"{cell}-network"
    # As a network gateway the chart serves 15443 itself and ignores service.ports (tests/upstream/test_upstream_templates.py).
    assert "ports" not in values["service"]
    assert values["service"]["annotations"] == dict(CAPABILITIES[cell].internal_load_balancer_annotations)
    assert release.provider == provider_of(cell)


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_each_cell_has_the_cross_network_gateway_passing_every_local_service_through(cell):
    gateway = one_in_cell(prod(), cell, GATEWAY, "-mesh-cross-network-gateway")
    assert gateway.inputs["metadata"] == {"name": "cross-network-gateway", "namespace": "istio-system"}
    assert gateway.inputs["spec"] == {
        "selector": {"istio": "eastwestgateway"},
        "servers": [{"port": {"number": 15443, "name": "tls", "protocol": "TLS"}, "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}],
    }


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_each_cluster_has_a_reader_account_bound_to_istios_reader_rules_and_its_token(cell):
    plan = prod()
    account = one_in_cell(plan, cell, "kubernetes:core/v1:ServiceAccount", "-mesh-reader-sa")
    binding = one_in_cell(plan, cell, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "-mesh-reader-binding")
    role = one_in_cell(plan, cell, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "-mesh-reader-role")
    token = one_in_cell(plan, cell, SECRET, "-mesh-reader-token")
    assert binding.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": account.inputs["metadata"]["name"], "namespace": "istio-system"}]
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert token.inputs["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account.inputs["metadata"]["name"]
    # Read-only on what istiod watches: endpoints, services, pods, endpointslices, Istio's config.
    verbs = {v for rule in role.inputs["rules"] for v in rule["verbs"]}
    assert {"get", "list", "watch"} <= verbs and not {"update", "patch", "deletecollection"} & verbs
    watched = {r for rule in role.inputs["rules"] for r in rule["resources"]}
    assert {"services", "pods", "endpointslices", "namespaces"} <= watched


def test_every_ordered_pair_of_cells_has_a_remote_secret():
    secrets = remote_secrets()
    pairs = {(s.provider, s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]) for s in secrets}
    expected = {(provider_of(local), remote) for local, remote in itertools.permutations(PROD_CELLS, 2)}
    assert len(secrets) == len(expected) == 6
    assert pairs == expected


@pytest.mark.parametrize("local,remote", list(itertools.permutations(PROD_CELLS, 2)))
def test_a_remote_secret_holds_a_token_kubeconfig_of_the_remote_cluster(local, remote):
    plan = prod()
    [secret] = [s for s in remote_secrets() if s.provider == provider_of(local) and s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"] == remote]
    assert secret.parent == plan.one("lepton:platform:Platform").urn
    assert secret.inputs["metadata"]["namespace"] == "istio-system"
    assert secret.inputs["metadata"]["name"] == f"istio-remote-secret-{remote}"
    assert secret.is_secret("stringData")
    config = json.loads(secret.inputs["stringData"][remote])
    [cluster] = config["clusters"]
    [user] = config["users"]
    assert "exec" not in user["user"] and set(user["user"]) == {"token"}
    token = one_in_cell(plan, remote, SECRET, "-mesh-reader-token")
    assert user["user"]["token"] == base64.b64decode(token.outputs["data"]["token"]).decode()
    assert cluster["cluster"]["server"].startswith("https://")
    assert cluster["cluster"]["certificate-authority-data"]
    # It waits for the remote's token and the local istio-system.
    assert token.urn in secret.dependencies


def test_remote_secrets_reach_each_cloud_api_server_from_its_foundation():
    servers = {}
    for secret in remote_secrets():
        remote = secret.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        servers.setdefault(remote, set()).add(json.loads(secret.inputs["stringData"][remote])["clusters"][0]["cluster"]["server"])
    assert all(len(s) == 1 for s in servers.values()), servers
    plan = prod()
    eks = plan.one("aws:eks/cluster:Cluster")
    assert servers["aws-use1"] == {eks.outputs["endpoint"]}
    gke = plan.one("gcp:container/cluster:Cluster")
    assert servers["gcp-usc1"] == {f"https://{gke.outputs['endpoint']}"}
    assert next(iter(servers["azure-eus2"])).startswith("https://")
