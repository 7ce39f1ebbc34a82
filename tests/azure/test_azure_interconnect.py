"""The Azure end of the VPN between cells: its IPsec policy in the values pulumi_azure_native's enums list, and which
BGP address each gateway instance speaks from on a connection."""

from __future__ import annotations

import inspect

import pulumi_azure_native.network as network
import pytest

from lepton_infra.components.azure.interconnect import IPSEC_POLICY, sibling
from lepton_infra.spec.interconnect import LinkPlan, TunnelPlan

ENUMS = {
    "ike_encryption": network.IkeEncryption,
    "ike_integrity": network.IkeIntegrity,
    "dh_group": network.DhGroup,
    "ipsec_encryption": network.IpsecEncryption,
    "ipsec_integrity": network.IpsecIntegrity,
    "pfs_group": network.PfsGroup,
}


def test_the_policy_sets_every_field_azure_requires():
    required = {name for name, p in inspect.signature(network.IpsecPolicyArgs.__init__).parameters.items() if name != "__self__"}
    assert set(IPSEC_POLICY) == required


@pytest.mark.parametrize("field", sorted(ENUMS))
def test_each_policy_value_is_one_azure_lists(field):
    assert IPSEC_POLICY[field] in {e.value for e in ENUMS[field]}


def link(tunnels: int) -> LinkPlan:
    per = tunnels // 2
    return LinkPlan("peer", 64600, ("10.0.0.0/16",), False, tuple(
        TunnelPlan(t, t // per, t // per, f"169.254.21.{4 * t}/30", f"169.254.21.{4 * t + 2}", f"169.254.21.{4 * t + 1}")
        for t in range(tunnels)
    ))


@pytest.mark.parametrize("tunnels,expected", [(2, {0: 1, 1: 0}), (4, {0: 2, 1: 3, 2: 0, 3: 1})])
def test_the_idle_instance_of_a_connection_speaks_from_its_own_tunnel_to_that_peer(tunnels, expected):
    plan = link(tunnels)
    found = {t.index: sibling(plan, t).index for t in plan.tunnels}
    assert found == expected
    assert all(sibling(plan, t).interface != t.interface for t in plan.tunnels)
