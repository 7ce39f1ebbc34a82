"""A component never weakens protection its caller asked for: ``protect=True`` on the component reaches every
data-bearing child even when the component's own ``protected`` is false (docs/design.md, "Data safety")."""

import pulumi
import pytest

from lepton_infra.components.aws.cluster import EksCluster
from lepton_infra.components.aws.data_lake import DataLake
from lepton_infra.components.aws.network import Network
from lepton_infra.components.aws.registry import ContainerRegistry
from lepton_infra.testing import run

TAGS = {"lepton.ai/environment": "dev"}
DATA_TYPES = {
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:ecr/repository:Repository",
    "aws:eks/cluster:Cluster",
}

COMPONENTS = {
    "data-lake": lambda opts: DataLake("lake", {"spec": {"zones": ["raw", "models"]}, "protected": False, "tags": TAGS}, opts=opts),
    "registry": lambda opts: ContainerRegistry("registry", {"spec": {}, "protected": False, "tags": TAGS}, opts=opts),
    "cluster": lambda opts: EksCluster(
        "c",
        {"spec": {"public_access_cidrs": ["203.0.113.0/24"]}, "subnet_ids": ["subnet-0a", "subnet-0b"], "vpc_id": "vpc-0123",
         "protected": False, "tags": TAGS},
        opts=opts,
    ),
    "network": lambda opts: Network("net", {"spec": {}, "cluster_name": "dev-use1", "protected": False, "tags": TAGS}, opts=opts),
}


def data_children(opts: pulumi.ResourceOptions | None):
    def plan_of(build):
        plan = run(lambda: build(opts))
        found = [r for r in plan.resources if r.type in DATA_TYPES]
        assert found, "the component registered no data-bearing resource"
        return found

    return plan_of


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_caller_protected_component_keeps_every_data_resource_protected(component):
    unprotected = [r.name for r in data_children(pulumi.ResourceOptions(protect=True))(COMPONENTS[component]) if not r.protect]
    assert not unprotected, f"protect=True on the {component} did not reach {unprotected}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_without_either_nothing_is_protected(component):
    assert not any(r.protect or r.retain_on_delete for r in data_children(None)(COMPONENTS[component]))
