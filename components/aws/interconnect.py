"""An AWS cell's end of the VPN between cells (docs/design.md, "Mesh" > "Connectivity"): a virtual private gateway on
the cell's VPC, and per peer one customer gateway and Site-to-Site VPN connection (two tunnels, BGP) for each of the
peer's gateway interfaces.

- The virtual private gateway carries the cell's ASN (amazon_side_asn) and propagates the routes BGP learns into the
  private subnets' route tables, where nodes, pods (VPC CNI), internal load balancers and the EKS API's private
  endpoint ENIs live (VPC user guide, "Route propagation"). A transit gateway would serve several VPCs of one region;
  a cell is one VPC, and the VGW costs nothing beyond its connections.
- A connection's outside addresses are AWS's, given when it is created: this end is the plan's first end, and its
  connect returns tunnel1_address/tunnel2_address for the peer to point at.
- Each tunnel offers one IKEv2 proposal (lepton_infra/spec/interconnect.py IPSEC) and starts the negotiation itself
  (startup_action "start"), so a tunnel comes up without waiting for the peer to send traffic.
- The EKS cluster security group (on the control plane's ENIs and the managed nodes) admits the peer's ranges on the
  mesh's ports only (443: the API server; 15443: the east-west gateway, where its load balancer keeps client
  addresses), one rule per peer and port.
"""

from __future__ import annotations

from typing import Mapping, Required, Sequence, TypedDict
import pulumi
import pulumi_aws.ec2 as ec2
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.interconnect import IPSEC, MESH_PORTS, LinkPlan, TunnelPlan, VpnPlan

TOKEN = "lepton:aws:VpnEndpoint"
TYPE = "ipsec.1"
# The IPsec suite in AWS's names (VpnConnection tunnel options).
TUNNEL_OPTIONS = {
    "ike_versions": [f"ikev{IPSEC.ike_version}"],
    "phase1_encryption_algorithms": ["AES256"],
    "phase1_integrity_algorithms": ["SHA2-256"],
    "phase1_dh_group_numbers": [IPSEC.dh_group],
    "phase1_lifetime_seconds": IPSEC.phase1_lifetime_seconds,
    "phase2_encryption_algorithms": ["AES256"],
    "phase2_integrity_algorithms": ["SHA2-256"],
    "phase2_dh_group_numbers": [IPSEC.dh_group],
    "phase2_lifetime_seconds": IPSEC.phase2_lifetime_seconds,
    "startup_action": "start",
}


def tunnel_options(number: int, tunnel: TunnelPlan, shared_key: pulumi.Output[str]) -> dict:
    """VpnConnection's tunnel<number>_* arguments for one tunnel of the plan."""
    options = {**TUNNEL_OPTIONS, "inside_cidr": tunnel.inside_cidr, "preshared_key": shared_key}
    return {f"tunnel{number}_{key}": value for key, value in options.items()}


class VpnEndpointArgsDict(TypedDict, total=False):
    """VpnEndpointArgs as a plain dict: the same keys, validated the same way."""

    plan: Required[VpnPlan]
    vpc_id: Required[PulumiInput[str]]
    route_table_ids: Required[Sequence[PulumiInput[str]]]
    security_group_id: Required[PulumiInput[str]]
    tags: Mapping[str, str]


class VpnEndpointArgs(ComponentArgs):
    plan: VpnPlan = Field(description="The cell's end of every link (lepton_infra.spec.interconnect.plan_vpn).")
    vpc_id: PulumiInput[str]
    route_table_ids: list[PulumiInput[str]] = Field(description="The private subnets' route tables: BGP's routes go there.")
    security_group_id: PulumiInput[str] = Field(description="The EKS cluster security group: admits the peers' mesh traffic.")
    tags: dict[str, str] = Field(default_factory=dict)


class VpnEndpoint(pulumi.ComponentResource):
    """The VPC's VPN gateway; ``connect`` adds one peer's connections and firewall rules."""

    addresses = None  # a connection's addresses come with it
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnEndpointArgs | VpnEndpointArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(VpnEndpointArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._name, self._tags, self._security_group_id = name, args.tags, args.security_group_id
        child = pulumi.ResourceOptions(parent=self)
        gateway = ec2.VpnGateway(
            name, vpc_id=args.vpc_id, amazon_side_asn=str(args.plan.asn), tags={**args.tags, "Name": name}, opts=child
        )
        for i, table in enumerate(args.route_table_ids):
            ec2.VpnGatewayRoutePropagation(f"{name}-routes-{i}", vpn_gateway_id=gateway.id, route_table_id=table, opts=child)
        self.gateway_id = gateway.id
        self.register_outputs({"gateway_id": self.gateway_id})

    def connect(
        self, link: LinkPlan, peer_addresses: list[pulumi.Output[str]], shared_keys: list[pulumi.Output[str]]
    ) -> list[pulumi.Output[str]]:
        addresses: list[pulumi.Output[str]] = []
        for interface in sorted({t.interface for t in link.tunnels}):
            pair = [t for t in link.tunnels if t.interface == interface]
            connection = self._connection(link, interface, pair, peer_addresses[pair[0].index], shared_keys)
            addresses += [connection.tunnel1_address, connection.tunnel2_address]
        self._admit(link)
        return addresses

    def _connection(
        self, link: LinkPlan, interface: int, pair: list[TunnelPlan], peer_address: pulumi.Output[str], keys: list[pulumi.Output[str]]
    ) -> ec2.VpnConnection:
        child = pulumi.ResourceOptions(parent=self)
        name = f"{self._name}-{link.peer}-{interface}"
        customer = ec2.CustomerGateway(
            name, bgp_asn=str(link.peer_asn), ip_address=peer_address, type=TYPE, tags={**self._tags, "Name": name}, opts=child
        )
        first, second = pair
        return ec2.VpnConnection(
            name,
            vpn_gateway_id=self.gateway_id,
            customer_gateway_id=customer.id,
            type=TYPE,
            static_routes_only=False,  # BGP
            **tunnel_options(1, first, keys[first.index]),
            **tunnel_options(2, second, keys[second.index]),
            tags={**self._tags, "Name": name},
            opts=child,
        )

    def _admit(self, link: LinkPlan) -> None:
        for port in MESH_PORTS:
            ec2.SecurityGroupRule(
                f"{self._name}-{link.peer}-{port}",
                type="ingress",
                security_group_id=self._security_group_id,
                protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_blocks=list(link.peer_cidrs),
                description=f"mesh from cell {link.peer} over the VPN, port {port}",
                opts=pulumi.ResourceOptions(parent=self),
            )
