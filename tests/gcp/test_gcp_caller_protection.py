"""A GCP component never weakens protection its caller asked for: ``protect=True`` on the component reaches every
data-bearing child even when the component's own ``protected`` is false (docs/design.md, "Data safety")."""

import pulumi
import pytest

from lepton_infra.components.gcp.cluster import GkeCluster
from lepton_infra.components.gcp.data_lake import DataLake
from lepton_infra.components.gcp.registry import ContainerRegistry

from gcp_support import BUCKET, CLUSTER, DATASET, KEY, KEY_RING, PROJECT, REGION, REPOSITORY, gcp_run

DATA_TYPES = {BUCKET, DATASET, KEY, KEY_RING, REPOSITORY, CLUSTER}
COMPONENTS = {
    "data-lake": lambda opts: DataLake("lake", {"spec": {"zones": ["raw", "models"]}, "protected": False}, opts=opts),
    "registry": lambda opts: ContainerRegistry("registry", {"protected": False}, opts=opts),
    "cluster": lambda opts: GkeCluster(
        "c",
        {
            "spec": {"public_access_cidrs": ["203.0.113.0/24"]},
            "network": f"projects/{PROJECT}/global/networks/net",
            "subnetwork": f"projects/{PROJECT}/regions/{REGION}/subnetworks/nodes",
            "protected": False,
        },
        opts=opts,
    ),
}


def data_children(build, opts):
    found = [r for r in gcp_run(lambda: build(opts)).resources if r.type in DATA_TYPES]
    assert found, "the component registered no data-bearing resource"
    return found


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_caller_protected_component_keeps_every_data_resource_protected(component):
    children = data_children(COMPONENTS[component], pulumi.ResourceOptions(protect=True))
    assert not [r.name for r in children if not r.protect], f"protect=True on the {component} did not reach them"


@pytest.mark.parametrize("component", COMPONENTS)
def test_without_either_nothing_is_protected(component):
    assert not any(r.protect or r.retain_on_delete for r in data_children(COMPONENTS[component], None))
