"""The AKS cluster: Entra ID only with Azure RBAC, workload identity, overlay networking, a private or fenced API
server, auto-upgrades, host encryption, and a kubeconfig that never logs in interactively."""

import json

import pulumi
import pytest

from lepton_infra.components.azure import _roles
from lepton_infra.components.azure.cluster import AKS_AAD_SERVER_APP_ID, AksCluster
from lepton_infra.testing.mocks.azure import DEPLOYER_OBJECT_ID, TENANT_ID, arm_id

from azure_support import (
    IDENTITY,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    SUBNET_ID,
    TAGS,
    assignments_of,
    rejected,
    role_definition,
    run_azure,
)

CLUSTER = "azure-native:containerservice:ManagedCluster"
GROUP = "5b7f3c1e-2d4a-4e6b-8c9d-0a1b2c3d4e5f"


def args(**overrides):
    spec = {"public_access_cidrs": ["203.0.113.0/24"], **overrides.pop("spec", {})}
    base = {"name": "dev-az-weu", "resource_group_name": RESOURCE_GROUP, "node_subnet_id": SUBNET_ID, "tags": TAGS}
    return {**base, "spec": spec, **overrides}


def plan_for(**overrides):
    def program():
        cluster = AksCluster("aks", args(**overrides))
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("issuer", cluster.oidc_issuer_url)
        pulumi.export("kubelet", cluster.kubelet_object_id)
        pulumi.export("fqdn", cluster.fqdn)
        pulumi.export("cluster_id", cluster.cluster_id)

    return run_azure(program)


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def cluster_of(plan):
    return plan.one(CLUSTER).inputs


def test_entra_id_with_azure_rbac_and_no_local_accounts(plan):
    cluster = cluster_of(plan)
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT_ID, "adminGroupObjectIDs": []}
    assert cluster["disableLocalAccounts"] is True
    assert cluster["enableRBAC"] is True


def test_oidc_issuer_and_workload_identity_are_on(plan):
    cluster = cluster_of(plan)
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert plan.stack_outputs["issuer"] == plan.one(CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]


def test_azure_cni_overlay_with_cilium_and_the_specs_ranges(plan):
    assert cluster_of(plan)["networkProfile"] == {
        "networkPlugin": "azure",
        "networkPluginMode": "overlay",
        "networkDataplane": "cilium",
        "networkPolicy": "cilium",
        "podCidr": "10.244.0.0/16",
        "serviceCidr": "172.16.0.0/16",
        "dnsServiceIP": "172.16.0.10",
        "loadBalancerSku": "standard",
        "outboundType": "loadBalancer",
    }


def test_a_public_api_server_admits_only_the_authorized_ranges(plan):
    assert cluster_of(plan)["apiServerAccessProfile"] == {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]}
    assert plan.stack_outputs["fqdn"] == plan.one(CLUSTER).outputs["fqdn"]


def test_protected_environments_get_a_private_cluster_without_ranges():
    plan = plan_for(protected=True)
    # The public FQDN stays (AKS's default, said explicitly): it resolves to the private endpoint, for the other cells.
    assert cluster_of(plan)["apiServerAccessProfile"] == {"enablePrivateCluster": True, "enablePrivateClusterPublicFQDN": True}
    assert ".privatelink." in plan.stack_outputs["fqdn"]
    server = json.loads(plan.stack_outputs["kubeconfig"])["clusters"][0]["cluster"]["server"]
    assert server == f"https://{plan.stack_outputs['fqdn']}:443"


def test_the_explicit_internet_opt_out_sends_no_ranges_as_aks_reads_that():
    plan = plan_for(spec={"public_access_cidrs": ["0.0.0.0/0"]})
    assert cluster_of(plan)["apiServerAccessProfile"] == {"enablePrivateCluster": False}


def test_a_public_api_server_without_ranges_is_refused_before_anything_exists():
    error, plan = rejected(lambda: AksCluster("aks", args(spec={"public_access_cidrs": []})))
    assert "0.0.0.0/0" in dict(error.issues)["spec.public_access_cidrs"]
    assert plan.resources == []


def test_auto_upgrades_follow_the_patch_channel_and_node_images(plan):
    assert cluster_of(plan)["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert cluster_of(plan)["sku"] == {"name": "Base", "tier": "Standard"}


def test_the_system_pool_is_encrypted_at_host_autoscaled_and_labelled(plan):
    (pool,) = cluster_of(plan)["agentPoolProfiles"]
    assert pool["name"] == "system" and pool["mode"] == "System"
    assert (pool["vmSize"], pool["osDiskSizeGB"], pool["osType"]) == ("Standard_D4ds_v5", 128, "Linux")
    assert pool["enableEncryptionAtHost"] is True
    assert pool["enableNodePublicIP"] is False
    assert (pool["enableAutoScaling"], pool["minCount"], pool["maxCount"], pool["count"]) == (True, 2, 4, 2)
    assert pool["vnetSubnetID"] == SUBNET_ID
    assert pool["nodeLabels"] == {"lepton.ai/pool": "system"}
    assert plan.one(CLUSTER).ignore_changes == ("agentPoolProfiles[0].count",)


def test_encryption_at_host_is_a_named_opt_out():
    (pool,) = cluster_of(plan_for(spec={"encryption_at_host": False}))["agentPoolProfiles"]
    assert pool["enableEncryptionAtHost"] is False


def test_the_control_plane_identity_may_use_the_node_subnet_and_nothing_else(plan):
    identity = plan.one(IDENTITY)
    identity_id = arm_id(RESOURCE_GROUP, "Microsoft.ManagedIdentity", f"userAssignedIdentities/{identity.inputs['resourceName']}")
    assert cluster_of(plan)["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert assignments_of(plan, identity.outputs["principalId"]) == [
        {"role": role_definition(_roles.NETWORK_CONTRIBUTOR), "scope": SUBNET_ID}
    ]
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == identity.outputs["principalId"]]
    assert grant.urn in plan.one(CLUSTER).dependencies


def test_without_admin_groups_the_deployer_is_cluster_admin_on_this_cluster_only(plan):
    assert assignments_of(plan, DEPLOYER_OBJECT_ID) == [
        {"role": role_definition(_roles.AKS_RBAC_CLUSTER_ADMIN), "scope": plan.stack_outputs["cluster_id"]}
    ]
    assert plan.stack_outputs["cluster_id"].endswith("/providers/Microsoft.ContainerService/managedClusters/dev-az-weu")


def test_named_admin_groups_replace_the_deployer_grant():
    plan = plan_for(spec={"admin_group_object_ids": [GROUP]})
    assert cluster_of(plan)["aadProfile"]["adminGroupObjectIDs"] == [GROUP]
    assert assignments_of(plan, DEPLOYER_OBJECT_ID) == []


def test_a_person_deploying_is_granted_as_a_user():
    plan = plan_for(spec={"deployer_principal_type": "User"})
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == DEPLOYER_OBJECT_ID]
    assert grant.inputs["principalType"] == "User"


def test_the_kubeconfig_is_secret_and_logs_in_with_the_azure_cli_session(plan):
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.is_secret("kubeconfig")
    config = json.loads(provider.inputs["kubeconfig"])
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_APP_ID]
    assert user["user"]["exec"]["interactiveMode"] == "Never"
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == f"https://{plan.one(CLUSTER).outputs['fqdn']}:443"
    assert cluster["cluster"]["certificate-authority-data"]


def test_the_kubeconfig_is_read_in_exec_format_from_the_clusters_user_credentials(plan):
    (call,) = [args for token, args in plan.invokes if token == "azure-native:containerservice:listManagedClusterUserCredentials"]
    assert call == {"resourceGroupName": RESOURCE_GROUP, "resourceName": "dev-az-weu", "format": "exec"}


def test_the_provider_waits_for_the_deployers_admin_grant(plan):
    provider = plan.one("pulumi:providers:kubernetes")
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == DEPLOYER_OBJECT_ID]
    assert grant.urn in provider.dependencies


def test_outputs_expose_the_kubelet_identity(plan):
    assert plan.stack_outputs["kubelet"] == plan.one(CLUSTER).outputs["identityProfile"]["kubeletidentity"]["objectId"]


@pytest.mark.parametrize(
    "spec,field",
    [
        ({"kubernetes_version": "1.29"}, "spec.kubernetes_version"),
        ({"upgrade_channel": "weekly"}, "spec.upgrade_channel"),
        ({"admin_group_object_ids": ["platform-admins"]}, "spec.admin_group_object_ids[0]"),
        ({"system_pool": {"min_size": 5, "max_size": 2}}, "spec.system_pool.min_size"),
        ({"system_pool": {"vm_size": "m6i.large"}}, "spec.system_pool.vm_size"),
    ],
)
def test_bad_cluster_specs_name_the_field_and_register_nothing(spec, field):
    error, plan = rejected(lambda: AksCluster("aks", args(spec=spec)))
    assert field in dict(error.issues)
    assert plan.resources == []
