"""GPU node pools boot the NVIDIA AMI on the catalog's machine type, carry the contract, and scale from zero."""

import pytest

from lepton_infra.components.aws.cluster import EksCluster
from lepton_infra.components.aws.gpu_node_pool import GpuNodePool
from lepton_infra.conventions import GPU_TAINT
from lepton_infra.testing import run

from aws_support import rejected

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CA = "k8s.io/cluster-autoscaler"


def cluster() -> EksCluster:
    """The cluster a pool joins (declared in the same program, as a user's program does)."""
    return EksCluster("c", {
        "name": "dev-use1", "spec": {"kubernetes_version": "1.34", "public_access_cidrs": ["203.0.113.0/24"]},
        "subnet_ids": ["subnet-0a", "subnet-0b"], "vpc_id": "vpc-0123",
    })


def args(**pool):
    spec = {"name": "l4", "accelerator": "l4", "capacity": "spot", "min_size": 0, "max_size": 3, **pool}
    return {"pool": spec, "cluster": cluster(), "tags": {"lepton.ai/environment": "dev"}}


def plan_for(**pool):
    return run(lambda: GpuNodePool("gpu", args(**pool)))


def pool_resources(plan):
    """What the GpuNodePool registered (the plan also holds the cluster it joins)."""
    pools = plan.of_type("lepton:aws:GpuNodePool")
    return pools + [r for p in pools for r in plan.descendants(p)]


def test_the_pool_joins_its_cluster_with_the_clusters_node_role_version_and_subnets(plan):
    group, cluster = plan.one(NODE_GROUP, "gpu"), plan.one("aws:eks/cluster:Cluster")
    node_role = [r for r in plan.of_type("aws:iam/role:Role") if r.outputs["arn"] == group.inputs["nodeRoleArn"]]
    assert group.inputs["clusterName"] == cluster.outputs["name"] == "dev-use1"
    assert len(node_role) == 1 and "node" in node_role[0].name
    assert group.inputs["version"] == "1.34"
    assert group.inputs["subnetIds"] == ["subnet-0a", "subnet-0b"]


def test_a_cluster_given_as_ids_is_refused_naming_the_field():
    err, plan = rejected(lambda: GpuNodePool("gpu", {**args(), "cluster": "dev-use1"}))
    assert "cluster" in dict(err.issues) and pool_resources(plan) == []


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_nodes_boot_the_eks_nvidia_ami(plan):
    assert plan.one(NODE_GROUP, "gpu").inputs["amiType"] == "AL2023_x86_64_NVIDIA"


@pytest.mark.parametrize(
    "accelerator,gpus,instance",
    [("l4", 1, "g6.xlarge"), ("h100", 8, "p5.48xlarge"), ("a100-80gb", 8, "p4de.24xlarge"), ("t4", 4, "g4dn.12xlarge")],
)
def test_instance_type_comes_from_the_catalog(accelerator, gpus, instance):
    plan = plan_for(name="p", accelerator=accelerator, gpus_per_node=gpus)
    assert plan.one(NODE_GROUP, "gpu").inputs["instanceTypes"] == [instance]


def test_gpu_nodes_carry_the_contract_taint(plan):
    assert plan.one(NODE_GROUP, "gpu").inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]


def test_gpu_nodes_carry_the_contract_labels_and_the_autoscalers_gpu_label():
    labels = plan_for(name="fast", accelerator="h100", gpus_per_node=8, capacity="on-demand").one(NODE_GROUP, "gpu").inputs["labels"]
    assert labels == {
        "lepton.ai/accelerator": "h100",
        "lepton.ai/pool": "fast",
        "lepton.ai/capacity": "on-demand",
        "nvidia.com/gpu.present": "true",
        "k8s.amazonaws.com/accelerator": "h100",
    }


@pytest.mark.parametrize("capacity,expected", [("spot", "SPOT"), ("on-demand", "ON_DEMAND")])
def test_capacity_type_follows_the_spec(capacity, expected):
    assert plan_for(capacity=capacity).one(NODE_GROUP, "gpu").inputs["capacityType"] == expected


def test_scaling_follows_min_max_desired_and_the_autoscaler_owns_the_size():
    group = plan_for(min_size=1, max_size=5, desired_size=2).one(NODE_GROUP, "gpu")
    assert group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 5, "desiredSize": 2}
    assert group.inputs["updateConfig"] == {"maxUnavailable": 1}
    assert group.ignore_changes == ("scalingConfig.desiredSize",)


def test_desired_defaults_to_min(plan):
    assert plan.one(NODE_GROUP, "gpu").inputs["scalingConfig"]["desiredSize"] == 0


def test_root_volume_is_an_encrypted_gp3_of_the_pool_disk_size_behind_imdsv2():
    plan = plan_for(disk_size_gb=500)
    template = plan.one("aws:ec2/launchTemplate:LaunchTemplate", "gpu")
    ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeSize"], ebs["volumeType"], ebs["encrypted"]) == (500, "gp3", "true")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    group = plan.one(NODE_GROUP, "gpu")
    assert group.inputs["launchTemplate"]["id"] == template.outputs["arn"].rsplit("/", 1)[-1]
    assert "diskSize" not in group.inputs


def test_node_group_is_tagged_for_autoscaler_discovery_and_scale_from_zero(plan):
    tags = plan.one(NODE_GROUP, "gpu").inputs["tags"]
    assert tags[f"{CA}/enabled"] == "true"
    assert tags[f"{CA}/dev-use1"] == "owned"
    assert tags[f"{CA}/node-template/label/lepton.ai/accelerator"] == "l4"
    assert tags[f"{CA}/node-template/taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert tags[f"{CA}/node-template/resources/nvidia.com/gpu"] == "1"
    assert tags["lepton.ai/environment"] == "dev"


def test_node_template_tags_are_on_the_node_groups_auto_scaling_group(plan):
    group = plan.one(NODE_GROUP, "gpu")
    asg = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    tags = {t.inputs["tag"]["key"]: t.inputs for t in plan.of_type("aws:autoscaling/tag:Tag")}
    assert tags[f"{CA}/node-template/taint/nvidia.com/gpu"]["tag"]["value"] == "present:NoSchedule"
    assert tags[f"{CA}/node-template/label/lepton.ai/pool"]["tag"]["value"] == "l4"
    assert tags[f"{CA}/node-template/resources/nvidia.com/gpu"]["tag"]["value"] == "1"
    assert all(t["autoscalingGroupName"] == asg for t in tags.values())


def test_outputs_expose_the_contract():
    pools = []
    run(lambda: pools.append(GpuNodePool("gpu", args(accelerator="h100", gpus_per_node=8))))
    (pool,) = pools
    assert pool.instance_type == "p5.48xlarge"
    assert pool.labels["lepton.ai/accelerator"] == "h100"
    assert pool.taints == [GPU_TAINT.as_eks()]


def test_an_accelerator_aws_lacks_names_the_clouds_that_offer_it():
    err, plan = rejected(lambda: GpuNodePool("gpu", args(accelerator="a10")))
    issues = dict(err.issues)
    assert "azure" in issues["pool.accelerator"]
    assert pool_resources(plan) == []


def test_an_unsupported_gpu_count_names_the_counts_aws_offers():
    err, plan = rejected(lambda: GpuNodePool("gpu", args(accelerator="h100", gpus_per_node=2)))
    issues = dict(err.issues)
    assert "1, 8" in issues["pool.gpus_per_node"]
    assert pool_resources(plan) == []


@pytest.mark.parametrize(
    "pool,field",
    [
        ({"min_size": 4, "max_size": 2}, "pool.min_size"),
        ({"desired_size": 9}, "pool.desired_size"),
        ({"name": "GPU_Pool"}, "pool.name"),
        ({"capacity": "reserved"}, "pool.capacity"),
        ({"disk_size_gb": 10}, "pool.disk_size_gb"),
    ],
)
def test_bad_pool_specs_name_the_field_and_register_nothing(pool, field):
    err, plan = rejected(lambda: GpuNodePool("gpu", args(**pool)))
    assert field in dict(err.issues)
    assert pool_resources(plan) == []
