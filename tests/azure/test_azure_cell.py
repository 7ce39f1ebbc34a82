"""The Azure cell foundation: one protected-when-prod resource group holding network, cluster, GPU pools, lake and
registry in the cell's region, and the contract the in-cluster layer needs (provider, registry, models URI, model
readers, capabilities)."""

import pulumi
import pulumi_azure_native.authorization as authorization
import pytest

from lepton_infra.cell_contract import CellFoundation, IdentityBinding
from lepton_infra.components.azure import _roles
from lepton_infra.components.azure.cell import build_foundation
from lepton_infra.spec import PlatformSpec
from lepton_infra.testing.mocks.azure import jwt_claims

from azure_support import IDENTITY, assignments_of, role_definition, run_azure

GROUP = "azure-native:resources:ResourceGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
ACCOUNT = "azure-native:storage:StorageAccount"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"


def platform(protected=False, **cell):
    return PlatformSpec(
        environment="prod" if protected else "dev",
        protected=protected,
        tags={"cost-center": "ml"},
        cells=[
            {
                "cloud": "azure",
                "name": "az-weu",
                "region": "westeurope",
                "cluster": {"public_access_cidrs": ["203.0.113.0/24"]},
                "gpu_pools": [
                    {"name": "h100-spot", "accelerator": "h100", "gpus_per_node": 8, "capacity": "spot", "max_size": 2},
                    {"name": "t4", "accelerator": "t4", "max_size": 4},
                ],
                **cell,
            }
        ],
        models=[{"name": "llm", "accelerator": "h100", "gpus": 8, "artifact": "llm/v1/model.pt"}],
    )


class Cell(pulumi.ComponentResource):
    """What the platform does with a foundation: build it, then bind a model's service account."""

    def __init__(self, name: str, spec: PlatformSpec):
        super().__init__("test:index:Cell", name)
        self.foundation = build_foundation(self, name, spec, spec.cells[0])
        self.binding = self.foundation.bind_model_reader("models", "llm")
        pulumi.export("annotations", self.binding.service_account_annotations)
        pulumi.export("models_uri", self.foundation.models_uri)
        pulumi.export("credentials", self.foundation.registry.credentials)
        pulumi.export("repository_url", self.foundation.registry.repository_url)
        pulumi.export("cluster_name", self.foundation.cluster_name)


def build(spec):
    cells = []
    plan = run_azure(lambda: cells.append(Cell("dev-az-weu", spec)))
    return plan, cells[0]


@pytest.fixture(scope="module")
def built():
    return build(platform())


@pytest.fixture(scope="module")
def plan(built):
    return built[0]


@pytest.fixture(scope="module")
def foundation(built) -> CellFoundation:
    return built[1].foundation


def test_everything_is_in_one_resource_group_in_the_cells_region(plan):
    group = plan.one(GROUP)
    assert (group.inputs["resourceGroupName"], group.inputs["location"]) == ("dev-az-weu", "westeurope")
    provider = plan.one("pulumi:providers:azure-native")
    assert provider.inputs["location"] == "westeurope"
    azure = [r for r in plan.resources if r.type.startswith("azure-native:")]
    assert all(r.provider and r.provider.startswith(provider.urn) for r in azure)
    assert all(r.inputs["resourceGroupName"] == "dev-az-weu" for r in azure if "resourceGroupName" in r.inputs)


def test_every_taggable_resource_carries_the_platforms_tags_spelled_for_azure(plan):
    tags = {"lepton.ai_environment": "dev", "lepton.ai_cell": "az-weu", "lepton.ai_managed-by": "lepton-infra", "cost-center": "ml"}
    tagged = [r for r in plan.resources if "tags" in r.inputs]
    assert len(tagged) >= 10 and all(r.inputs["tags"] == tags for r in tagged)


def test_the_cluster_and_every_gpu_pool_share_the_node_subnet(plan):
    subnet = plan.one(CLUSTER).inputs["agentPoolProfiles"][0]["vnetSubnetID"]
    pools = {p.inputs["agentPoolName"]: p.inputs for p in plan.of_type(AGENT_POOL)}
    assert sorted(pools) == ["h100spot", "t4"]
    assert all(p["vnetSubnetID"] == subnet and p["resourceName"] == "dev-az-weu" for p in pools.values())
    assert pools["h100spot"]["scaleSetPriority"] == "Spot"


def test_the_lake_admits_the_node_subnet_through_its_firewall(plan):
    subnet = plan.one(CLUSTER).inputs["agentPoolProfiles"][0]["vnetSubnetID"]
    rules = plan.one(ACCOUNT).inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["virtualNetworkRules"] == [{"virtualNetworkResourceId": subnet, "action": "Allow"}]


def test_the_nodes_kubelet_identity_may_pull_from_the_cells_registry_only(plan, foundation):
    kubelet = plan.one(CLUSTER).outputs["identityProfile"]["kubeletidentity"]["objectId"]
    (grant,) = assignments_of(plan, kubelet)
    assert grant["role"] == role_definition(_roles.ACR_PULL)
    registry = plan.one("azure-native:containerregistry:Registry").outputs["name"]
    assert grant["scope"].endswith(f"/providers/Microsoft.ContainerRegistry/registries/{registry}")
    # Pods pull the serving image as soon as they exist: the grant is part of what the in-cluster layer waits for.
    (waited,) = [r for r in foundation.ready if isinstance(r, authorization.RoleAssignment)]
    assert waited._name == "dev-az-weu-registry-kubelet-acr-pull"


def test_a_model_reader_is_federated_to_its_service_account_and_reads_the_models_zone_only(plan):
    reader = plan.one(IDENTITY, "dev-az-weu-llm-identity")
    federation = plan.one(FEDERATION).inputs
    assert federation["subject"] == "system:serviceaccount:models:llm"
    assert federation["issuer"] == plan.one(CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
    (grant,) = assignments_of(plan, reader.outputs["principalId"])
    assert grant["role"] == role_definition(_roles.STORAGE_BLOB_DATA_READER)
    assert grant["scope"].endswith(f"/storageAccounts/{plan.one(ACCOUNT).outputs['name']}/blobServices/default/containers/models")


def test_the_binding_tells_pods_how_to_be_the_reader(plan, built):
    binding = built[1].binding
    assert isinstance(binding, IdentityBinding)
    reader = plan.one(IDENTITY, "dev-az-weu-llm-identity")
    assert plan.stack_outputs["annotations"] == {"azure.workload.identity/client-id": reader.outputs["clientId"]}
    assert binding.pod_labels == {"azure.workload.identity/use": "true"}
    assert binding.env == {"AZURE_STORAGE_ANON": "false"}


def test_models_are_read_from_the_models_filesystem_as_an_abfs_uri(plan):
    account = plan.one(ACCOUNT).outputs["name"]
    assert plan.stack_outputs["models_uri"] == f"abfs://models@{account}.dfs.core.windows.net/"


def test_the_registry_comes_with_short_lived_push_credentials(plan):
    login_server = plan.one("azure-native:containerregistry:Registry").outputs["loginServer"]
    assert plan.stack_outputs["repository_url"] == f"{login_server}/serving"
    credentials = plan.stack_outputs["credentials"]
    assert credentials["server"] == login_server and jwt_claims(credentials["password"])["aud"] == login_server
    assert "credentials" in plan.secret_outputs


def test_the_contract_fields(plan, foundation):
    assert foundation.cloud == "azure"
    assert foundation.kubernetes_version == "1.35"
    assert plan.stack_outputs["cluster_name"] == "dev-az-weu"
    assert foundation.capabilities.internal_load_balancer_annotations == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true"
    }
    assert foundation.capabilities.gpu_driver_preinstalled is True
    assert foundation.capabilities.istio_cni_platform is None
    assert plan.one("pulumi:providers:kubernetes").name == foundation.kubernetes_provider._name == "dev-az-weu-cluster-k8s"


def test_the_in_cluster_layer_waits_for_the_cluster_and_its_gpu_pools(plan, foundation):
    assert sorted(type(r).__name__ for r in foundation.ready) == ["AksCluster", "GpuNodePool", "GpuNodePool", "RoleAssignment"]


def test_a_protected_environment_keeps_the_group_and_makes_the_cluster_private():
    plan, _ = build(platform(protected=True, cluster={"public_access_cidrs": []}))
    group = plan.one(GROUP)
    assert group.protect and group.retain_on_delete
    assert plan.one(CLUSTER).inputs["apiServerAccessProfile"] == {"enablePrivateCluster": True, "enablePrivateClusterPublicFQDN": True}
    assert plan.one(ACCOUNT).protect
    keys = plan.of_type("azure-native:keyvault:Key")
    assert {k.name for k in keys} == {"dev-az-weu-lake-key", "dev-az-weu-registry-key"}  # the lake's, the registry's
    assert all(k.protect for k in keys)


def test_an_unprotected_environment_protects_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)
