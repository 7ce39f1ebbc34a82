"""GPU node pools get the catalog's machine and accelerator, GKE's driver, the contract, and scale from zero."""

import pytest

from lepton_infra.components.gcp.cluster import GkeCluster
from lepton_infra.components.gcp.gpu_node_pool import GpuNodePool
from lepton_infra.conventions import GPU_TAINT

from gcp_support import CLUSTER, NODE_POOL, PROJECT, REGION, gcp_run, rejected

NODES = f"dev-gcp-euw4-nodes@{PROJECT}.iam.gserviceaccount.com"
CLUSTER_ZONES = [f"{REGION}-a", f"{REGION}-c"]


def cluster() -> GkeCluster:
    """The cluster a pool joins (declared in the same program, as a user's program does)."""
    return GkeCluster("c", {
        "name": "dev-gcp-euw4",
        "spec": {"public_access_cidrs": ["203.0.113.0/24"], "node_zones": CLUSTER_ZONES},
        "network": f"projects/{PROJECT}/global/networks/dev-gcp-euw4",
        "subnetwork": f"projects/{PROJECT}/regions/{REGION}/subnetworks/dev-gcp-euw4-nodes",
    })


def args(driver=None, zones=None, **pool):
    spec = {"name": "l4", "accelerator": "l4", "capacity": "spot", "min_size": 0, "max_size": 3, **pool}
    extra = {"gpu_driver_version": driver} if driver else {}
    extra |= {"node_zones": zones} if zones is not None else {}
    return {"pool": spec, "cluster": cluster(), "labels": {"lepton-ai_environment": "dev"}, **extra}


def plan_for(**kwargs):
    return gcp_run(lambda: GpuNodePool("gpu", args(**kwargs)))


def pool_resources(plan):
    """What the GpuNodePool registered (the plan also holds the cluster it joins)."""
    pools = plan.of_type("lepton:gcp:GpuNodePool")
    return pools + [r for p in pools for r in plan.descendants(p)]


def gpu_pool(plan):
    """The GpuNodePool's node pool (the plan also holds the cluster's system pool)."""
    return plan.one(NODE_POOL, "gpu")


def node_config(plan):
    return gpu_pool(plan).inputs["nodeConfig"]


@pytest.fixture(scope="module")
def plan():
    return plan_for()


@pytest.mark.parametrize(
    "accelerator,gpus,machine,accelerator_type",
    [
        ("l4", 1, "g2-standard-4", "nvidia-l4"),
        ("h100", 8, "a3-highgpu-8g", "nvidia-h100-80gb"),
        ("a100-80gb", 1, "a2-ultragpu-1g", "nvidia-a100-80gb"),
        ("t4", 1, "n1-standard-4", "nvidia-tesla-t4"),
    ],
)
def test_machine_and_accelerator_come_from_the_catalog(accelerator, gpus, machine, accelerator_type):
    config = node_config(plan_for(name="p", accelerator=accelerator, gpus_per_node=gpus))
    assert config["machineType"] == machine
    (attached,) = config["guestAccelerators"]
    assert (attached["type"], attached["count"]) == (accelerator_type, gpus)


def test_gke_installs_the_default_driver_unless_the_latest_is_asked_for(plan):
    (attached,) = node_config(plan)["guestAccelerators"]
    assert attached["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    (latest,) = node_config(plan_for(driver="LATEST"))["guestAccelerators"]
    assert latest["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}


def test_gpu_nodes_carry_the_contract_taint_as_gke_spells_it(plan):
    assert node_config(plan)["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]


def test_gpu_nodes_carry_the_contract_labels():
    labels = node_config(plan_for(name="fast", accelerator="h100", gpus_per_node=8, capacity="on-demand"))["labels"]
    assert labels == {
        "lepton.ai/accelerator": "h100",
        "lepton.ai/pool": "fast",
        "lepton.ai/capacity": "on-demand",
        "nvidia.com/gpu.present": "true",
    }


@pytest.mark.parametrize("capacity,spot,policy", [("spot", True, "ANY"), ("on-demand", False, "BALANCED")])
def test_spot_capacity_makes_spot_nodes(capacity, spot, policy):
    pool = gpu_pool(plan_for(capacity=capacity)).inputs
    assert pool["nodeConfig"]["spot"] is spot
    assert pool["autoscaling"]["locationPolicy"] == policy


def test_the_pool_scales_from_zero_between_the_pools_totals(plan):
    pool = gpu_pool(plan).inputs
    assert pool["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 3, "locationPolicy": "ANY"}
    assert "initialNodeCount" not in pool and "nodeCount" not in pool
    assert gpu_pool(plan_for(min_size=1, max_size=5)).inputs["autoscaling"]["totalMinNodeCount"] == 1


def test_gpu_nodes_are_shielded_run_as_the_node_account_and_see_only_the_gke_metadata_server(plan):
    config = node_config(plan)
    assert config["serviceAccount"] == NODES == plan.one("gcp:serviceaccount/account:Account").outputs["email"]
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}


def test_the_pool_joins_its_cluster_in_the_clusters_zones():
    plan = plan_for()
    pool, cluster = gpu_pool(plan).inputs, plan.one(CLUSTER)
    assert (pool["cluster"], pool["location"]) == (cluster.outputs["id"], REGION)
    assert pool["nodeLocations"] == CLUSTER_ZONES
    assert pool["nodeConfig"]["serviceAccount"] == NODES
    assert pool["name"] == "l4"
    assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_the_pool_may_name_its_own_zones_and_disk():
    pool = gpu_pool(plan_for(zones=[f"{REGION}-b"], disk_size_gb=500)).inputs
    assert pool["nodeLocations"] == [f"{REGION}-b"]
    assert pool["nodeConfig"]["diskSizeGb"] == 500


def test_outputs_expose_the_contract():
    pools = []
    gcp_run(lambda: pools.append(GpuNodePool("gpu", args(accelerator="h100", gpus_per_node=8))))
    (pool,) = pools
    assert (pool.machine.machine_type, pool.machine.accelerator_type) == ("a3-highgpu-8g", "nvidia-h100-80gb")
    assert pool.labels["lepton.ai/accelerator"] == "h100"
    assert pool.taints == [{"key": GPU_TAINT.key, "value": GPU_TAINT.value, "effect": "NO_SCHEDULE"}]


def test_an_accelerator_gcp_lacks_names_the_clouds_that_offer_it():
    error, plan = rejected(lambda: GpuNodePool("gpu", args(accelerator="a10g")))
    assert "aws" in dict(error.issues)["pool.accelerator"]
    assert pool_resources(plan) == []


def test_an_unsupported_gpu_count_names_the_counts_gcp_offers():
    error, plan = rejected(lambda: GpuNodePool("gpu", args(accelerator="h100", gpus_per_node=2)))
    assert "1, 8" in dict(error.issues)["pool.gpus_per_node"]
    assert pool_resources(plan) == []


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"min_size": 4, "max_size": 2}, "pool.min_size"),
        ({"name": "GPU_Pool"}, "pool.name"),
        ({"capacity": "reserved"}, "pool.capacity"),
        ({"driver": "INSTALLATION_DISABLED"}, "gpu_driver_version"),
    ],
)
def test_bad_pool_args_name_the_field_and_register_nothing(kwargs, field):
    error, plan = rejected(lambda: GpuNodePool("gpu", args(**kwargs)))
    assert field in dict(error.issues)
    assert pool_resources(plan) == []
