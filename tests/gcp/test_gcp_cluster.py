"""The GKE cluster is private-noded, workload-identity-ready, envelope-encrypted and reachable through its kubeconfig."""

import base64
import json

import pulumi
import pytest

from lepton_infra.components.gcp.cluster import GkeCluster
from lepton_infra.testing.mocks.gcp import project_number

from gcp_support import (
    ACCOUNT,
    CLUSTER,
    ENCRYPTER_DECRYPTER,
    KEY,
    KEY_RING,
    NODE_POOL,
    PROJECT,
    PROJECT_MEMBER,
    REGION,
    assert_rotating_key_in,
    gcp_run,
    key_users,
    rejected,
)

NETWORK_ID = f"projects/{PROJECT}/global/networks/dev-gcp-euw4"
SUBNET_ID = f"projects/{PROJECT}/regions/{REGION}/subnetworks/dev-gcp-euw4-nodes"
LABELS = {"lepton-ai_environment": "dev"}


def args(**overrides):
    base = {
        "name": "dev-gcp-euw4",
        "spec": {"public_access_cidrs": ["203.0.113.0/24"]},
        "network": NETWORK_ID,
        "subnetwork": SUBNET_ID,
        "labels": LABELS,
    }
    return {**base, **overrides}


def plan_for(**overrides):
    def program():
        cluster = GkeCluster("c", args(**overrides))
        pulumi.export("workload_pool", cluster.workload_pool)
        pulumi.export("nodes", cluster.node_service_account_email)

    return gcp_run(program)


@pytest.fixture(scope="module")
def plan():
    return plan_for()


@pytest.fixture(scope="module")
def protected():
    return plan_for(spec={}, protected=True)


def cluster_of(plan):
    return plan.one(CLUSTER).inputs


def test_workload_identity_uses_the_projects_pool(plan):
    assert cluster_of(plan)["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}
    assert plan.stack_outputs["workload_pool"] == "lepton-dev-123456.svc.id.goog"


def test_the_cluster_is_regional_vpc_native_on_the_cells_subnet_and_ranges(plan):
    cluster = cluster_of(plan)
    assert cluster["location"] == REGION
    assert (cluster["network"], cluster["subnetwork"]) == (NETWORK_ID, SUBNET_ID)
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}


def test_nodes_are_always_private_and_the_endpoint_is_public_only_for_the_authorized_networks(plan):
    cluster = cluster_of(plan)
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False}
    assert cluster["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "authorized-0"}],
        "gcpPublicCidrsAccessEnabled": False,
        "privateEndpointEnforcementEnabled": True,
    }


def test_a_protected_cluster_has_a_private_endpoint_unless_its_spec_says_otherwise(protected):
    assert cluster_of(protected)["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}
    assert cluster_of(protected)["masterAuthorizedNetworksConfig"]["cidrBlocks"] == []
    opened = plan_for(spec={"private_endpoint": False, "public_access_cidrs": ["203.0.113.0/24"]}, protected=True)
    assert cluster_of(opened)["privateClusterConfig"]["enablePrivateEndpoint"] is False


def test_a_public_endpoint_must_name_who_may_reach_it():
    error, plan = rejected(lambda: GkeCluster("c", args(spec={})))
    message = dict(error.issues)["spec.public_access_cidrs"]
    assert "0.0.0.0/0" in message and "private_endpoint" in message
    assert plan.resources == []


def test_the_private_endpoint_reaches_the_kubeconfig():
    plan = plan_for(spec={"private_endpoint": True})
    config = json.loads(plan.one("pulumi:providers:kubernetes").inputs["kubeconfig"])
    assert config["clusters"][0]["cluster"]["server"] == f"https://{plan.one(CLUSTER).outputs['endpoint']}"
    assert plan.one(CLUSTER).outputs["endpoint"].startswith("10.")


def test_secrets_are_encrypted_with_a_customer_managed_key_only_the_gke_service_agent_may_use(plan):
    key = plan.one(KEY)
    assert cluster_of(plan)["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key.outputs["id"]}
    assert_rotating_key_in(plan, key)
    agent = f"serviceAccount:service-{project_number(PROJECT)}@container-engine-robot.iam.gserviceaccount.com"
    assert key_users(plan, key) == {agent: ENCRYPTER_DECRYPTER}


def test_the_cluster_waits_for_the_key_grant(plan):
    (grant,) = plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert grant.urn in plan.one(CLUSTER).dependencies


def test_hardening_flags(plan):
    cluster = cluster_of(plan)
    assert cluster["enableShieldedNodes"] is True
    assert cluster["enableLegacyAbac"] is False
    assert cluster["masterAuth"] == {"clientCertificateConfig": {"issueClientCertificate": False}}
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["loggingConfig"] == {
        "enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]
    }


def test_release_channel_and_version_come_from_the_spec(plan):
    assert cluster_of(plan)["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster_of(plan)["minMasterVersion"] == "1.35"
    stable = plan_for(spec={"public_access_cidrs": ["203.0.113.0/24"], "release_channel": "STABLE", "kubernetes_version": "1.34"})
    assert cluster_of(stable)["releaseChannel"] == {"channel": "STABLE"}
    assert cluster_of(stable)["minMasterVersion"] == "1.34"


def test_the_default_node_pool_is_removed_and_the_system_pool_replaces_it(plan):
    cluster = plan.one(CLUSTER)
    assert cluster.inputs["removeDefaultNodePool"] is True and cluster.inputs["initialNodeCount"] == 1
    assert set(cluster.ignore_changes) == {"nodeConfig", "initialNodeCount"}
    (system,) = plan.of_type(NODE_POOL)
    assert system.inputs["name"] == "system" and system.inputs["cluster"] == cluster.outputs["id"]
    assert system.inputs["location"] == REGION
    assert system.inputs["autoscaling"] == {"totalMinNodeCount": 2, "totalMaxNodeCount": 4, "locationPolicy": "BALANCED"}
    assert system.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}
    assert system.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


def test_nodes_run_as_a_dedicated_least_privilege_service_account(plan):
    account = plan.one(ACCOUNT)
    email = account.outputs["email"]
    assert email == "dev-gcp-euw4-nodes@lepton-dev-123456.iam.gserviceaccount.com" == plan.stack_outputs["nodes"]
    (role,) = plan.of_type(PROJECT_MEMBER)
    assert role.inputs == {
        "project": PROJECT,
        "role": "roles/container.defaultNodeServiceAccount",
        "member": f"serviceAccount:{email}",
    }
    for config in (cluster_of(plan)["nodeConfig"], plan.one(NODE_POOL).inputs["nodeConfig"]):
        assert config["serviceAccount"] == email
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]


def test_system_nodes_are_shielded_and_see_only_the_gke_metadata_server(plan):
    config = plan.one(NODE_POOL).inputs["nodeConfig"]
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}
    assert (config["imageType"], config["diskType"], config["diskSizeGb"]) == ("COS_CONTAINERD", "pd-balanced", 50)
    assert (config["machineType"], config["labels"]) == ("e2-standard-4", {"lepton.ai/pool": "system"})


def test_node_zones_reach_the_cluster_and_the_system_pool():
    zones = [f"{REGION}-a", f"{REGION}-b"]
    plan = plan_for(spec={"public_access_cidrs": ["203.0.113.0/24"], "node_zones": zones})
    assert cluster_of(plan)["nodeLocations"] == zones
    assert plan.one(NODE_POOL).inputs["nodeLocations"] == zones


def test_deletion_protection_and_protected_data_only_when_protected(plan, protected):
    assert cluster_of(plan)["deletionProtection"] is False
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)
    assert cluster_of(protected)["deletionProtection"] is True
    kept = [protected.one(t) for t in (CLUSTER, KEY, KEY_RING)]
    assert all(r.protect and r.retain_on_delete for r in kept)


def test_kubeconfig_is_secret_and_execs_the_gke_auth_plugin_against_the_endpoint(plan):
    cluster, provider = plan.one(CLUSTER), plan.one("pulumi:providers:kubernetes")
    assert provider.is_secret("kubeconfig")
    config = json.loads(provider.inputs["kubeconfig"])
    server = config["clusters"][0]["cluster"]
    assert server["server"] == f"https://{cluster.outputs['endpoint']}"
    assert server["certificate-authority-data"] == cluster.outputs["masterAuth"]["clusterCaCertificate"]
    assert base64.b64decode(server["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "gke-gcloud-auth-plugin" and exec_["provideClusterInfo"] is True
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert provider.parent == plan.one("lepton:gcp:GkeCluster").urn


def test_labels_reach_the_cluster_its_nodes_and_its_key(plan):
    assert cluster_of(plan)["resourceLabels"] == LABELS
    assert plan.one(NODE_POOL).inputs["nodeConfig"]["resourceLabels"] == LABELS
    assert plan.one(KEY).inputs["labels"] == LABELS


def test_without_a_name_the_cluster_carries_the_stack_within_gkes_40_characters():
    def program():
        GkeCluster("ml-" + "x" * 50, {k: v for k, v in args().items() if k != "name"})

    names = {stack: gcp_run(program, stack=stack).one(CLUSTER).inputs["name"] for stack in ("dev", "prod")}
    assert names["dev"].startswith("dev-ml-") and names["prod"].startswith("prod-ml-")
    assert all(len(n) <= 40 for n in names.values())


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"name": "Dev_Cluster"}, "name"),
        ({"name": "a" * 41}, "name"),
        ({"labels": {"lepton.ai/cell": "x"}}, "labels"),
        ({"spec": {"release_channel": "BETA"}}, "spec.release_channel"),
        ({"spec": {"kubernetes_version": "1.20"}}, "spec.kubernetes_version"),
        ({"spec": {"system_pool": {"min_size": 5, "max_size": 3}}}, "spec.system_pool.min_size"),
        ({"spec": {"public_access_cidrs": ["nowhere"]}}, "spec.public_access_cidrs[0]"),
    ],
)
def test_bad_cluster_args_name_the_field_and_register_nothing(overrides, field):
    error, plan = rejected(lambda: GkeCluster("c", args(**overrides)))
    assert field in dict(error.issues)
    assert plan.resources == []
