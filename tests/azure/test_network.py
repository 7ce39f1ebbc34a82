"""The VNet holds the node subnet the spec names; the subnet can reach the lake through its service endpoint."""

import pytest

from lepton_infra.components.azure.network import Network

from azure_support import RESOURCE_GROUP, TAGS, rejected, run_azure

VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"


def plan_for(**spec):
    return run_azure(lambda: Network("net", {"spec": spec, "resource_group_name": RESOURCE_GROUP, "tags": TAGS}))


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_the_vnet_has_the_specs_address_space_and_tags(plan):
    vnet = plan.one(VNET)
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}
    assert vnet.inputs["resourceGroupName"] == RESOURCE_GROUP
    assert vnet.inputs["tags"] == TAGS


def test_nodes_get_the_first_quarter_of_the_vnet_and_a_storage_service_endpoint(plan):
    subnet = plan.one(SUBNET)
    assert subnet.inputs["addressPrefix"] == "10.0.0.0/18"
    assert subnet.inputs["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]
    assert subnet.inputs["virtualNetworkName"] == plan.one(VNET).outputs["name"]


def test_an_explicit_node_subnet_is_used_as_given():
    assert plan_for(cidr="10.8.0.0/16", node_subnet_cidr="10.8.4.0/22").one(SUBNET).inputs["addressPrefix"] == "10.8.4.0/22"


def test_inline_subnets_are_ignored_so_the_subnet_resource_owns_them(plan):
    assert plan.one(VNET).ignore_changes == ("subnets",)


def test_resources_are_children_of_the_network(plan):
    network = plan.one("lepton:azure:Network")
    assert {r.type for r in plan.children(network)} == {VNET, SUBNET}


@pytest.mark.parametrize(
    "spec,field",
    [
        ({"cidr": "10.0.0.0/25"}, "spec.cidr"),
        ({"node_subnet_cidr": "192.168.0.0/24"}, "spec.node_subnet_cidr"),
        ({"pod_cidr": "10.0.64.0/18"}, "spec.pod_cidr"),
        ({"service_cidr": "10.244.0.0/20"}, "spec.service_cidr"),
        ({"cidr": "10.0.0.0/33"}, "spec.cidr"),
    ],
)
def test_bad_ranges_name_the_field_and_register_nothing(spec, field):
    error, plan = rejected(lambda: Network("net", {"spec": spec, "resource_group_name": RESOURCE_GROUP}))
    assert field in dict(error.issues)
    assert plan.resources == []


def test_tag_names_azure_refuses_are_refused_before_anything_exists():
    error, plan = rejected(
        lambda: Network("net", {"resource_group_name": RESOURCE_GROUP, "tags": {"lepton.ai/environment": "dev"}})
    )
    assert "lepton.ai_environment" in dict(error.issues)["tags"]
    assert plan.resources == []
