"""The VPC spans the asked AZs with disjoint, tagged subnets, NAT egress and flow logs."""

import ipaddress
import json

import pulumi
import pulumi_aws as aws
import pytest

from lepton_infra.components.aws.network import Network, _zone, flow_log_policy, subnet_cidrs
from lepton_infra.testing import run

from aws_support import assert_log_group_has_its_own_key, ec2_id, rejected
from moto_iam import assert_iam_accepts

SUBNET = "aws:ec2/subnet:Subnet"
TAGS = {"lepton.ai/environment": "dev"}


def plan_for(**spec):
    return run(lambda: Network("net", {"spec": spec, "cluster_name": "dev-use1", "tags": TAGS}))


def subnets(plan, kind):
    return [s for s in plan.of_type(SUBNET) if s.name.startswith(f"net-{kind}-")]


@pytest.mark.parametrize("zones", [2, 3])
def test_one_public_and_one_private_subnet_per_availability_zone(zones):
    plan = plan_for(availability_zones=zones)
    for kind in ("public", "private"):
        azs = [s.inputs["availabilityZone"] for s in subnets(plan, kind)]
        assert sorted(azs) == [f"us-east-1{c}" for c in "abc"[:zones]]


@pytest.mark.parametrize("cidr,zones", [("10.0.0.0/16", 2), ("10.20.0.0/20", 6), ("172.16.0.0/12", 3)])
def test_subnet_cidrs_are_disjoint_and_inside_the_vpc(cidr, zones):
    public, private = subnet_cidrs(cidr, zones)
    nets = [ipaddress.IPv4Network(c) for c in public + private]
    assert len(nets) == 2 * zones
    assert all(n.subnet_of(ipaddress.IPv4Network(cidr)) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_registered_subnets_use_the_computed_cidrs():
    plan = plan_for(cidr="10.1.0.0/16", availability_zones=3)
    public, private = subnet_cidrs("10.1.0.0/16", 3)
    assert sorted(s.inputs["cidrBlock"] for s in subnets(plan, "public")) == sorted(public)
    assert sorted(s.inputs["cidrBlock"] for s in subnets(plan, "private")) == sorted(private)
    assert plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.1.0.0/16"


def test_vpc_has_dns_hostnames_and_support():
    vpc = plan_for().one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True


def test_subnets_are_tagged_for_load_balancer_discovery():
    plan = plan_for()
    for s in subnets(plan, "public"):
        assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in s.inputs["tags"]
        assert s.inputs["mapPublicIpOnLaunch"] is False
    for s in subnets(plan, "private"):
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in s.inputs["tags"]
    for s in plan.of_type(SUBNET):
        assert s.inputs["tags"]["kubernetes.io/cluster/dev-use1"] == "shared"
        assert s.inputs["tags"]["lepton.ai/environment"] == "dev"


@pytest.mark.parametrize("single,expected", [(False, 3), (True, 1)])
def test_nat_gateways_one_per_az_unless_single(single, expected):
    plan = plan_for(availability_zones=3, single_nat_gateway=single)
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == expected
    assert len(plan.of_type("aws:ec2/eip:Eip")) == expected
    assert {n.inputs["subnetId"] for n in nats} <= {ec2_id(s) for s in subnets(plan, "public")}


def test_private_route_tables_send_default_route_to_nat_and_public_to_igw():
    plan = plan_for(availability_zones=2)
    nat_ids = [ec2_id(n) for n in plan.of_type("aws:ec2/natGateway:NatGateway")]
    tables = {t.name: t for t in plan.of_type("aws:ec2/routeTable:RouteTable")}
    assert set(tables) == {"net-public", "net-private-0", "net-private-1"}
    assert tables["net-public"].inputs["routes"][0]["gatewayId"].startswith("igw-")
    for i in range(2):
        route = tables[f"net-private-{i}"].inputs["routes"][0]
        assert route["cidrBlock"] == "0.0.0.0/0" and route["natGatewayId"] in nat_ids
    assert len(plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 4


def test_with_a_single_nat_gateway_every_private_route_uses_it():
    plan = plan_for(availability_zones=3, single_nat_gateway=True)
    (nat,) = plan.of_type("aws:ec2/natGateway:NatGateway")
    private = [t for t in plan.of_type("aws:ec2/routeTable:RouteTable") if t.name.startswith("net-private-")]
    assert len(private) == 3 and all(t.inputs["routes"][0]["natGatewayId"] == ec2_id(nat) for t in private)


def test_every_taggable_resource_carries_the_args_tags():
    plan = plan_for()
    taggable = [r for r in plan.resources if r.custom and "tags" in r.inputs]
    assert len(taggable) >= 10
    assert all(r.inputs["tags"]["lepton.ai/environment"] == "dev" for r in taggable)


def test_flow_logs_capture_all_traffic_to_cloudwatch_through_a_scoped_role():
    plan = plan_for()
    flow = plan.one("aws:ec2/flowLog:FlowLog")
    group = plan.one("aws:cloudwatch/logGroup:LogGroup")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] > 0
    role = plan.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    policy = json.loads(plan.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == [group.outputs["arn"], group.outputs["arn"] + ":*"]
    assert "*" not in json.dumps(policy["Statement"][0]["Resource"]).replace(":*", "")


def test_the_flow_log_group_is_encrypted_with_its_own_key_for_that_group_only():
    plan = plan_for()
    key = assert_log_group_has_its_own_key(
        plan, "/aws/vpc/dev-use1/flow-logs", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/dev-use1/flow-logs"
    )
    group = plan.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 90
    assert not any(r.protect or r.retain_on_delete for r in (key, group))


def test_a_protected_network_keeps_its_flow_logs_and_their_key():
    plan = run(lambda: Network("net", {"spec": {}, "cluster_name": "dev-use1", "tags": TAGS, "protected": True}))
    kept = [plan.one("aws:cloudwatch/logGroup:LogGroup"), plan.one("aws:kms/key:Key")]
    assert all(r.protect and r.retain_on_delete for r in kept)


def test_the_flow_log_key_policy_follows_the_providers_region():
    def program():
        west = aws.Provider("west", region="eu-west-1")
        Network("net", {"spec": {}, "cluster_name": "dev-use1", "tags": TAGS}, opts=pulumi.ResourceOptions(provider=west))

    assert_log_group_has_its_own_key(
        run(program), "/aws/vpc/dev-use1/flow-logs", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/dev-use1/flow-logs"
    )


def test_flow_log_iam_documents_are_accepted_by_iam():
    plan = plan_for()
    assert_iam_accepts(
        trust_policy_json=plan.one("aws:iam/role:Role").inputs["assumeRolePolicy"],
        policy_json=flow_log_policy("arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/x/flow-logs"),
    )


def test_more_azs_than_the_region_has_is_a_clear_error():
    with pytest.raises(ValueError, match="asks for 4 AZs but the region has 3"):
        _zone(["us-east-1a", "us-east-1b", "us-east-1c"], 3)


@pytest.mark.parametrize(
    "spec,field",
    [({"availability_zones": 1}, "spec.availability_zones"), ({"cidr": "10.0.0.0/24"}, "spec.cidr"), ({"nat": True}, "spec.nat")],
)
def test_bad_network_specs_name_the_field_and_register_nothing(spec, field):
    err, plan = rejected(lambda: Network("net", {"spec": spec, "cluster_name": "c"}))
    assert field in str(err)
    assert plan.resources == []
