"""What the spec says about joining cells: disjoint network ranges across cells, ASNs that cannot clash, pairs a VPN
can join; which stacks get a VPN at all; and that a cell coming or going leaves the other cells' VPN as it was."""

from __future__ import annotations

import ipaddress

import pytest

from lepton_infra.spec import SpecError, parse_platform_spec
from lepton_infra.spec.azure import last_block
from lepton_infra.spec.interconnect import default_asn, plan_vpn
from mesh_support import in_cell, plan_of, prod, prod_spec, prod_without
from stack_support import planned_stack

VPN_TYPES = ("Vpn", "VPN", "vpn", "Interconnect", "LocalNetworkGateway")


def issues_of(spec: dict) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        parse_platform_spec(spec)
    return caught.value.issues


def cell_of(spec: dict, name: str) -> dict:
    return next(c for c in spec["cells"] if c["name"] == name)


def test_prod_cells_ranges_are_disjoint_and_plan_a_link_per_pair():
    plans = plan_vpn(parse_platform_spec(prod_spec()).cells)
    assert sorted(plans) == ["aws-use1", "azure-eus2", "gcp-usc1"]
    assert all(len(plan.links) == 2 for plan in plans.values())
    assert plans["gcp-usc1"].cidrs == ("10.60.0.0/20", "10.4.0.0/14")


@pytest.mark.parametrize(
    "cell,field,value,other",
    [
        ("azure-eus2", "cidr", "10.20.128.0/20", "'aws-use1''s network.cidr 10.20.0.0/16"),
        ("gcp-usc1", "pods_cidr", "10.48.0.0/14", "'azure-eus2''s network.cidr 10.50.0.0/16"),
        # A range used only inside a cluster still must not cover a range another cell routes to it.
        ("azure-eus2", "service_cidr", "10.20.0.0/16", "'aws-use1''s network.cidr 10.20.0.0/16"),
    ],
)
def test_overlapping_ranges_across_cells_are_refused_naming_both_cells_and_fields(cell, field, value, other):
    spec = prod_spec()
    cell_of(spec, cell).setdefault("network", {})[field] = value
    index = [c["name"] for c in spec["cells"]].index(cell)
    found = issues_of(spec)
    path = f"cells[{index}].network.{field}"
    assert [p for p, _ in found] == [path], found
    assert found[0][1].startswith(f"{value} overlaps cell {other}")


def test_cluster_local_ranges_may_repeat_across_cells():
    spec = prod_spec()
    extra = {**cell_of(spec, "azure-eus2"), "name": "azure-weu", "region": "westeurope", "network": {"cidr": "10.70.0.0/16"}}
    spec["cells"].append(extra)  # the same pod and Service ranges as azure-eus2: never routed, so no clash
    parse_platform_spec(spec)


def test_a_single_cell_stack_has_no_cross_cell_rule():
    spec = prod_spec()
    spec["cells"] = [{**cell_of(spec, "azure-eus2"), "network": {"cidr": "10.4.0.0/16", "pod_cidr": "10.244.0.0/16"}}]
    spec.pop("global_metrics", None)  # prod's global view is received in a cell this stack no longer has
    assert plan_vpn(parse_platform_spec(spec).cells) == {}


def test_asns_that_clash_are_refused_on_the_later_cell():
    spec = prod_spec()
    cell_of(spec, "gcp-usc1")["vpn"] = {"asn": default_asn("aws-use1")}
    assert [p for p, _ in issues_of(spec)] == ["cells[2].vpn.asn"]
    cell_of(spec, "gcp-usc1")["vpn"] = {"asn": default_asn("aws-use1") + 32}
    [(path, message)] = issues_of(spec)
    assert path == "cells[2].vpn.asn" and "modulo 32" in message and "aws-use1" in message


def test_azures_reserved_asns_are_refused():
    spec = prod_spec()
    cell_of(spec, "aws-use1")["vpn"] = {"asn": 65515}
    [(path, message)] = issues_of(spec)
    assert path == "cells[0].vpn.asn" and "reserved by Azure" in message


def test_two_aws_cells_cannot_meet_over_vpn_and_are_told_so():
    spec = prod_spec()
    spec["cells"].append({**cell_of(spec, "aws-use1"), "name": "aws-usw2", "region": "us-west-2", "network": {"cidr": "10.21.0.0/16"},
                          "data_lake": {"zones": ["models"], "backup": {"region": "us-east-1"}}})
    found = issues_of(spec)
    assert ("cells[3].cloud" in [p for p, _ in found]) and any("fixed address" in m for _, m in found)


def test_an_azure_gateway_subnet_must_fit_the_vnet_apart_from_the_nodes():
    spec = prod_spec()
    cell_of(spec, "azure-eus2")["network"]["gateway_subnet_cidr"] = "10.50.0.0/27"  # inside the node subnet
    [(path, _)] = issues_of(spec)
    assert path == "cells[1].network.gateway_subnet_cidr"
    cell_of(spec, "azure-eus2")["network"]["gateway_subnet_cidr"] = "10.50.255.240/28"
    [(path, message)] = issues_of(spec)
    assert path == "cells[1].network.gateway_subnet_cidr" and "/27" in message


@pytest.mark.parametrize("cidr", ["10.50.0.0/16", "10.0.0.0/8", "172.16.4.0/22", "192.168.7.0/24", "10.9.9.0/27"])
def test_the_default_gateway_subnet_is_the_vnets_last_27(cidr):
    network = ipaddress.IPv4Network(cidr)
    assert last_block(network, 27) == list(network.subnets(new_prefix=27))[-1]
    with pytest.raises(ValueError):  # as subnets() itself refuses a prefix shorter than the network's
        last_block(network, network.prefixlen - 1)


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_single_cell_stacks_register_no_vpn(stack):
    plan = planned_stack(stack)
    assert not [r.type for r in plan.resources if any(t in r.type for t in VPN_TYPES) or "interconnect" in r.name]
    assert not plan.of_type("azure-native:network:NetworkSecurityGroup")


def test_staging_joins_its_two_cells():
    plan = planned_stack("staging")
    assert len(plan.of_type("aws:ec2/vpnConnection:VpnConnection")) == 2
    assert len(plan.of_type("gcp:compute/vPNTunnel:VPNTunnel")) == 4


def _network_resources(plan, cell: str):
    """The cell's own network, and its VPN endpoint's resources that concern no removed peer."""
    endpoint = next(r for r in plan.resources if r.name == f"prod-interconnect-{cell}" and r.type.endswith(":VpnEndpoint"))
    network = [r for r in in_cell(plan, cell) if "-network" in r.name]
    return {r.urn: r for r in [*network, endpoint, *plan.descendants(endpoint)] if "gcp-usc1" not in r.name}


@pytest.mark.parametrize("cell", ["aws-use1", "azure-eus2"])
def test_removing_a_cell_leaves_the_others_network_and_vpn_resources_as_they_were(cell):
    before, after = _network_resources(prod(), cell), _network_resources(prod_without("gcp-usc1"), cell)
    assert sorted(before) == sorted(after) and len(before) > 10
    changed = {before[u].name for u in before if before[u].inputs != after[u].inputs}
    if cell == "azure-eus2":
        # The one exception, an in-place update: the gateway's instances list the BGP addresses their connections
        # speak from, so the gone peer's leave the list (components/azure/interconnect.py).
        assert changed == {"prod-interconnect-azure-eus2"}
        gateway = [before[u] for u in before if before[u].type == "azure-native:network:VirtualNetworkGateway"][0]
        kept = [after[u] for u in after if after[u].urn == gateway.urn][0]
        assert {k: v for k, v in gateway.inputs.items() if k != "bgpSettings"} == {k: v for k, v in kept.inputs.items() if k != "bgpSettings"}
    else:
        assert changed == set()


def test_removing_a_cell_removes_exactly_its_pairs_vpn_resources():
    before, after = prod(), prod_without("gcp-usc1")
    interconnect = before.one("lepton:platform:Interconnect")
    after_urns = {r.urn for r in after.resources}
    gone = {r.name for r in before.descendants(interconnect) if r.urn not in after_urns}
    assert gone and all("gcp-usc1" in name for name in gone)
    assert {r.name for r in before.descendants(interconnect) if "gcp-usc1" in r.name} == gone


def test_an_existing_cells_declared_ranges_are_checked_but_join_no_vpn():
    spec = prod_spec()
    existing = {"name": "dc1", "cloud": "existing", "region": "on-prem-dc1",
                "cluster": {"api_endpoint": "https://k8s.dc1.example.com:6443",
                            "certificate_authority_data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="},
                "registry": {"build_variant": "cpu"}, "network": {"cidrs": ["10.20.64.0/18"]}}
    spec["cells"].append(existing)
    [(path, message)] = issues_of(spec)
    assert path == "cells[3].network.cidrs[0]" and "aws-use1" in message
    existing["network"]["cidrs"] = ["192.168.0.0/16"]
    assert sorted(plan_vpn(parse_platform_spec(spec).cells)) == ["aws-use1", "azure-eus2", "gcp-usc1"]
