"""A component never weakens protection its caller asked for: ``protect=True`` on the component reaches every
data-bearing child even when the component's own ``protected`` is false (docs/design.md, "Data safety")."""

import pulumi
import pytest

from lepton_infra.components.azure.cluster import AksCluster
from lepton_infra.components.azure.data_lake import DataLake
from lepton_infra.components.azure.registry import ContainerRegistry

from azure_support import RESOURCE_GROUP, SUBNET_ID, TAGS, run_azure

DATA_TYPES = {
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:containerregistry:Registry",
    "azure-native:containerservice:ManagedCluster",
}
COMMON = {"resource_group_name": RESOURCE_GROUP, "protected": False, "tags": TAGS}

COMPONENTS = {
    "data-lake": lambda opts: DataLake("lake", {**COMMON, "spec": {"zones": ["raw", "models"]}}, opts=opts),
    "registry": lambda opts: ContainerRegistry("registry", COMMON, opts=opts),
    "cluster": lambda opts: AksCluster(
        "aks", {**COMMON, "spec": {"public_access_cidrs": ["203.0.113.0/24"]}, "node_subnet_id": SUBNET_ID}, opts=opts
    ),
}


def data_children(build, opts):
    found = [r for r in run_azure(lambda: build(opts)).resources if r.type in DATA_TYPES]
    assert found, "the component registered no data-bearing resource"
    return found


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_caller_protected_component_keeps_every_data_resource_protected(component):
    unprotected = [r.name for r in data_children(COMPONENTS[component], pulumi.ResourceOptions(protect=True)) if not r.protect]
    assert not unprotected, f"protect=True on the {component} did not reach {unprotected}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_without_either_nothing_is_protected(component):
    assert not any(r.protect or r.retain_on_delete for r in data_children(COMPONENTS[component], None))
