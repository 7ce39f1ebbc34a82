"""The cell's VPC is custom-mode, VPC-native, logged, and lets private nodes out only through Cloud NAT."""

import pytest

from lepton_infra.components.gcp.network import Network

from gcp_support import REGION, gcp_run, rejected

NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"


def plan_for(**args):
    return gcp_run(lambda: Network("net", {"name": "dev-gcp-euw4", **args}))


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_the_vpc_is_custom_mode_with_regional_routing(plan):
    network = plan.one(NETWORK).inputs
    assert network["autoCreateSubnetworks"] is False
    assert network["routingMode"] == "REGIONAL"
    assert network["name"] == "dev-gcp-euw4"


def test_one_subnet_for_nodes_with_secondary_ranges_for_pods_and_services(plan):
    subnet = plan.one(SUBNET)
    assert subnet.inputs["network"] == plan.one(NETWORK).outputs["id"]
    assert subnet.inputs["ipCidrRange"] == "10.0.0.0/20"
    assert subnet.inputs["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.4.0.0/14"},
        {"rangeName": "services", "ipCidrRange": "10.8.0.0/20"},
    ]
    assert subnet.outputs["region"] == REGION


def test_nodes_without_external_addresses_reach_google_apis(plan):
    assert plan.one(SUBNET).inputs["privateIpGoogleAccess"] is True


def test_every_flow_of_the_subnet_is_logged(plan):
    assert plan.one(SUBNET).inputs["logConfig"] == {
        "aggregationInterval": "INTERVAL_5_SEC",
        "flowSampling": 1.0,
        "metadata": "INCLUDE_ALL_METADATA",
    }


def test_cloud_nat_serves_every_range_of_the_nodes_subnet_only_and_logs_errors(plan):
    router = plan.one(ROUTER)
    assert router.inputs["network"] == plan.one(NETWORK).outputs["id"]
    nat = plan.one(NAT).inputs
    assert nat["router"] == router.outputs["name"] and nat["region"] == REGION
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert nat["subnetworks"] == [{"name": plan.one(SUBNET).outputs["selfLink"], "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


def test_ranges_come_from_the_spec():
    spec = {"cidr": "10.20.0.0/20", "pods_cidr": "10.64.0.0/14", "services_cidr": "10.20.16.0/20"}
    ranges = plan_for(spec=spec).one(SUBNET).inputs
    assert ranges["ipCidrRange"] == "10.20.0.0/20"
    assert [r["ipCidrRange"] for r in ranges["secondaryIpRanges"]] == ["10.64.0.0/14", "10.20.16.0/20"]


def test_without_a_name_the_network_carries_the_stack():
    names = {stack: gcp_run(lambda: Network("ml", {}), stack=stack).one(NETWORK).inputs["name"] for stack in ("dev", "prod")}
    assert names == {"dev": "dev-ml", "prod": "prod-ml"}


def test_children_belong_to_the_component(plan):
    component = plan.one("lepton:gcp:Network").urn
    assert all(r.parent == component for r in plan.resources if r.custom)


@pytest.mark.parametrize(
    "spec,field,says",
    [
        ({"pods_cidr": "10.0.8.0/21"}, "spec.pods_cidr", "overlaps cidr"),
        ({"services_cidr": "10.4.0.0/20"}, "spec.services_cidr", "overlaps pods_cidr"),
        ({"cidr": "8.8.0.0/20"}, "spec.cidr", "RFC 1918"),
        ({"cidr": "10.0.0.0/33"}, "spec.cidr", "IPv4 CIDR"),
    ],
)
def test_bad_ranges_name_the_field_and_register_nothing(spec, field, says):
    error, plan = rejected(lambda: Network("net", {"spec": spec}))
    assert says in dict(error.issues)[field]
    assert plan.resources == []


def test_a_name_gcp_refuses_is_an_error_before_anything_exists():
    error, plan = rejected(lambda: Network("net", {"name": "1-net"}))
    assert "name" in dict(error.issues)
    assert plan.resources == []
