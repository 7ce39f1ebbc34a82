"""Private connectivity between the cells of a stack: every pair of cloud cells joined by IPsec VPN tunnels with BGP
(docs/design.md, "Mesh" > "Connectivity"), so each istiod reaches the other clusters' API servers and the east-west
gateways (internal load balancers) reach each other.

The Interconnect spans cells, so the Platform owns it. It plans both ends of every pair from the spec alone
(lepton_infra/spec/interconnect.py), asks each cell's foundation for its VPN endpoint (the contract's
``vpn_endpoint``: the cloud's gateway, routes and firewall), makes a pre-shared key per tunnel and has each end of a
pair connect to the other, the end whose addresses come with the connection (AWS) first. It never asks which cloud a
cell is on. Every resource of a pair is named after both cells, so a cell coming or going adds or removes its pairs'
resources and leaves the other pairs' as they were.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from ..cell_contract import CellFoundation, VpnEndpoint
from ..spec import PlatformSpec, SpecError
from ..spec.interconnect import LinkPlan, plan_vpn

TOKEN = "lepton:platform:Interconnect"
# AWS takes 8-64 characters of letters, digits, "." and "_", not starting with "0" (VpnTunnelOptionsSpecification
# PreSharedKey); GCP and Azure take any printable ASCII. 40 letters and digits after a fixed prefix suit all three.
KEY_PREFIX = "lepton_"
KEY_LENGTH = 40


class Interconnect(pulumi.ComponentResource):
    """The VPN between every pair of cloud cells: ``Interconnect("prod-interconnect", spec, foundations)``."""

    endpoints: dict[str, VpnEndpoint]
    shared_keys: dict[tuple[str, str], list[pulumi.Output[str]]]  # by (first end, second end), per tunnel; secret

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        foundations: dict[str, CellFoundation],
        opts: pulumi.ResourceOptions | None = None,
    ):
        plans = plan_vpn(spec.cells)
        missing = [cell for cell in plans if foundations[cell].vpn_endpoint is None]
        if missing:
            raise SpecError([("cells", f"the foundation of {', '.join(missing)} gives no VPN endpoint")], "Interconnect")
        super().__init__(TOKEN, name, None, opts)
        self.endpoints = {
            cell: foundations[cell].vpn_endpoint(self, f"{name}-{cell}", plan)  # type: ignore[misc]  (checked above)
            for cell, plan in plans.items()
        }
        self.shared_keys = {}
        for cell, plan in plans.items():
            for link in plan.links:
                if link.first:
                    peer_link = next(back for back in plans[link.peer].links if back.peer == cell)
                    self._join(name, cell, link, peer_link)
        self.register_outputs({})

    def _join(self, name: str, first: str, link: LinkPlan, back: LinkPlan) -> None:
        """Both ends of one pair: the first end towards the second's fixed addresses, then the second towards what the
        first's connections were given."""
        second = link.peer
        keys = [self._shared_key(f"{name}-{first}-{second}-key-{t.index}") for t in link.tunnels]
        there = self.endpoints[second].addresses
        if there is None:
            raise SpecError([("cells", f"{first!r} and {second!r}: neither end has a fixed VPN address")], "Interconnect")
        here = self.endpoints[first].connect(link, [there[t.peer_interface] for t in link.tunnels], keys)
        self.endpoints[second].connect(back, here, keys)
        self.shared_keys[(first, second)] = keys

    def _shared_key(self, name: str) -> pulumi.Output[str]:
        password = random.RandomPassword(name, length=KEY_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.secret(pulumi.Output.concat(KEY_PREFIX, password.result))


def interconnect(parent: pulumi.Resource, name: str, spec: PlatformSpec, foundations: dict[str, CellFoundation]) -> Interconnect | None:
    """The stack's Interconnect when it has at least two cloud cells, else None (a single cell needs none)."""
    if not plan_vpn(spec.cells):
        return None
    return Interconnect(name, spec, foundations, opts=pulumi.ResourceOptions(parent=parent))
