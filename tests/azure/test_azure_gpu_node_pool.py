"""GPU agent pools take the catalog's VM size, carry the contract, get AKS's driver, and scale from zero."""

import pytest

from lepton_infra.components.azure.gpu_node_pool import ExistingAksCluster, GpuNodePool

from azure_support import RESOURCE_GROUP, SUBNET_ID, TAGS, rejected, run_azure

AGENT_POOL = "azure-native:containerservice:AgentPool"


def args(**pool):
    spec = {"name": "h100", "accelerator": "h100", "gpus_per_node": 8, "min_size": 0, "max_size": 3, **pool}
    return {
        "pool": spec,
        "cluster": ExistingAksCluster("dev-az-weu", RESOURCE_GROUP, SUBNET_ID, "1.35"),
        "tags": TAGS,
    }


def pool_of(**pool):
    return run_azure(lambda: GpuNodePool("gpu", args(**pool))).one(AGENT_POOL)


@pytest.fixture(scope="module")
def on_demand():
    return pool_of()


@pytest.fixture(scope="module")
def spot():
    return pool_of(name="h100-spot", capacity="spot")


@pytest.mark.parametrize(
    "accelerator,gpus,vm_size",
    [
        ("h100", 8, "Standard_ND96isr_H100_v5"),
        ("h100", 1, "Standard_NC40ads_H100_v5"),
        ("a100-80gb", 4, "Standard_NC96ads_A100_v4"),
        ("t4", 1, "Standard_NC4as_T4_v3"),
    ],
)
def test_vm_size_comes_from_the_catalog(accelerator, gpus, vm_size):
    assert pool_of(accelerator=accelerator, gpus_per_node=gpus).inputs["vmSize"] == vm_size


def test_a_user_pool_of_the_cluster_named_as_aks_allows(on_demand, spot):
    assert on_demand.inputs["mode"] == "User"
    assert on_demand.inputs["resourceName"] == "dev-az-weu"
    assert on_demand.inputs["resourceGroupName"] == RESOURCE_GROUP
    assert on_demand.inputs["vnetSubnetID"] == SUBNET_ID
    assert (on_demand.inputs["agentPoolName"], spot.inputs["agentPoolName"]) == ("h100", "h100spot")


def test_aks_installs_the_nvidia_driver(on_demand):
    assert on_demand.inputs["gpuProfile"] == {"driver": "Install"}


def test_gpu_nodes_carry_the_contract_taint(on_demand):
    assert on_demand.inputs["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]


def test_gpu_nodes_carry_the_contract_labels_and_leave_aks_its_own(on_demand):
    assert on_demand.inputs["nodeLabels"] == {
        "lepton.ai/accelerator": "h100",
        "lepton.ai/pool": "h100",
        "lepton.ai/capacity": "on-demand",
        "nvidia.com/gpu.present": "true",
    }
    # kubernetes.azure.com/accelerator=nvidia is AKS's label on GPU nodes; a pool may not set labels of that prefix.
    assert not any(key.startswith("kubernetes.azure.com/") for key in on_demand.inputs["nodeLabels"])


def test_on_demand_pools_are_regular_priority(on_demand):
    assert on_demand.inputs["scaleSetPriority"] == "Regular"
    assert "scaleSetEvictionPolicy" not in on_demand.inputs and "spotMaxPrice" not in on_demand.inputs


def test_spot_pools_are_deleted_on_eviction_and_declare_akss_spot_taint(spot):
    assert spot.inputs["scaleSetPriority"] == "Spot"
    assert spot.inputs["scaleSetEvictionPolicy"] == "Delete"
    assert spot.inputs["spotMaxPrice"] == -1
    assert spot.inputs["nodeTaints"] == [
        "nvidia.com/gpu=present:NoSchedule",
        "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
    ]
    assert spot.inputs["nodeLabels"]["lepton.ai/capacity"] == "spot"


def test_aks_autoscales_between_min_and_max_and_owns_the_count():
    pool = pool_of(min_size=1, max_size=5, desired_size=2)
    assert (pool.inputs["enableAutoScaling"], pool.inputs["minCount"], pool.inputs["maxCount"], pool.inputs["count"]) == (True, 1, 5, 2)
    assert pool.ignore_changes == ("count",)


def test_pools_scale_from_zero_by_default(on_demand):
    assert (on_demand.inputs["minCount"], on_demand.inputs["count"]) == (0, 0)


def test_disks_are_encrypted_at_host_and_nodes_have_no_public_ip(on_demand):
    assert on_demand.inputs["enableEncryptionAtHost"] is True
    assert on_demand.inputs["enableNodePublicIP"] is False
    assert on_demand.inputs["osDiskSizeGB"] == 200
    assert (on_demand.inputs["osType"], on_demand.inputs["osSKU"]) == ("Linux", "Ubuntu")
    assert on_demand.inputs["orchestratorVersion"] == "1.35"
    assert on_demand.inputs["tags"] == TAGS


def test_outputs_expose_the_contract():
    pools = []
    run_azure(lambda: pools.append(GpuNodePool("gpu", args(accelerator="t4", gpus_per_node=4, capacity="spot"))))
    (pool,) = pools
    assert pool.vm_size == "Standard_NC64as_T4_v3"
    assert pool.labels["lepton.ai/accelerator"] == "t4"
    assert pool.taints[0] == "nvidia.com/gpu=present:NoSchedule"


def test_an_accelerator_azure_lacks_names_the_clouds_that_offer_it():
    error, plan = rejected(lambda: GpuNodePool("gpu", args(accelerator="l4", gpus_per_node=1)))
    assert "aws, gcp" in dict(error.issues)["pool.accelerator"]
    assert plan.resources == []


def test_an_unsupported_gpu_count_names_the_counts_azure_offers():
    error, plan = rejected(lambda: GpuNodePool("gpu", args(gpus_per_node=2)))
    assert "1, 8" in dict(error.issues)["pool.gpus_per_node"]
    assert plan.resources == []


@pytest.mark.parametrize(
    "pool,field",
    [
        ({"name": "8-gpu"}, "pool.name"),
        ({"name": "h100-spot-west-1"}, "pool.name"),
        ({"min_size": 4, "max_size": 2}, "pool.min_size"),
        ({"capacity": "reserved"}, "pool.capacity"),
        ({"disk_size_gb": 10}, "pool.disk_size_gb"),
    ],
)
def test_bad_pool_specs_name_the_field_and_register_nothing(pool, field):
    error, plan = rejected(lambda: GpuNodePool("gpu", args(**pool)))
    assert field in dict(error.issues)
    assert plan.resources == []


def test_the_pool_joins_with_its_clusters_version_and_host_encryption():
    cluster = ExistingAksCluster("prod-az-eus", RESOURCE_GROUP, SUBNET_ID, "1.34", encryption_at_host=False)
    pool = run_azure(lambda: GpuNodePool("gpu", {**args(), "cluster": cluster})).one(AGENT_POOL)
    assert (pool.inputs["resourceName"], pool.inputs["orchestratorVersion"]) == ("prod-az-eus", "1.34")
    assert pool.inputs["enableEncryptionAtHost"] is False


def test_a_cluster_given_as_loose_ids_is_refused_naming_the_field():
    loose = {"pool": args()["pool"], "cluster": "dev-az-weu", "resource_group_name": RESOURCE_GROUP}
    error, plan = rejected(lambda: GpuNodePool("gpu", loose))
    assert {"cluster", "resource_group_name"} <= set(dict(error.issues))
    assert plan.resources == []
