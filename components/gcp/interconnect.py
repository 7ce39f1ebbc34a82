"""A GCP cell's end of the VPN between cells (docs/design.md, "Mesh" > "Connectivity"): an HA VPN gateway (two
interfaces, each with its own Google address: the 99.99% SLA topology) and a Cloud Router of its own with the cell's
ASN; per peer an external VPN gateway with the peer's tunnel addresses, and per tunnel a VPN tunnel, a router
interface on the tunnel's link-local /30 and a BGP peer.

- The router advertises exactly the ranges peers must reach (CUSTOM mode): the subnet's primary range (nodes,
  internal load balancers, the control plane's Private Service Connect endpoint) and the pods' range (VPC-native
  pods keep their addresses towards RFC 1918 destinations). The NAT's router stays as it is.
- Tunnels to AWS: one external gateway of four addresses (FOUR_IPS_REDUNDANCY), interface 0 to the first AWS VPN
  connection's two tunnels and interface 1 to the second's (Cloud VPN docs, "Create HA VPN connections between Google
  Cloud and AWS"); to an Azure active-active gateway, two addresses (TWO_IPS_REDUNDANCY), interface i to address i.
- Each tunnel offers one IKEv2 cipher suite (lepton_infra/spec/interconnect.py IPSEC).
- Firewall: the VPC's implied rule denies all ingress; one rule per peer admits its ranges on the mesh's ports.
  The control plane's private endpoint is guarded by master authorized networks instead (components/gcp/cluster.py
  peer_cidrs).
"""

from __future__ import annotations

from typing import Required, TypedDict
import pulumi
import pulumi_gcp.compute as compute
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.interconnect import IPSEC, MESH_PORTS, LinkPlan, TunnelPlan, VpnPlan

from ._names import rfc1035

TOKEN = "lepton:gcp:VpnEndpoint"
# The IPsec suite in Cloud VPN's names (VpnTunnel cipherSuite; "Supported IKE ciphers").
CIPHER_SUITE = {
    "phase1": {
        "encryptions": ["AES-CBC-256"],
        "integrities": ["HMAC-SHA2-256-128"],
        "prves": ["PRF-HMAC-SHA2-256"],
        "dhs": [f"Group-{IPSEC.dh_group}"],
    },
    "phase2": {"encryptions": ["AES-CBC-256"], "integrities": ["HMAC-SHA2-256-128"], "pfs": [f"Group-{IPSEC.dh_group}"]},
}
REDUNDANCY = {2: "TWO_IPS_REDUNDANCY", 4: "FOUR_IPS_REDUNDANCY"}


class VpnEndpointArgsDict(TypedDict, total=False):
    """VpnEndpointArgs as a plain dict: the same keys, validated the same way."""

    plan: Required[VpnPlan]
    network_id: Required[PulumiInput[str]]
    physical: Required[str]


class VpnEndpointArgs(ComponentArgs):
    plan: VpnPlan = Field(description="The cell's end of every link (lepton_infra.spec.interconnect.plan_vpn).")
    network_id: PulumiInput[str]
    physical: str = Field(
        pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$",
        description="Prefix of the physical names (the gateway's, its router's, the peers' resources').",
    )


class VpnEndpoint(pulumi.ComponentResource):
    """The VPC's HA VPN gateway and its Cloud Router; ``connect`` adds one peer's tunnels, BGP sessions and rule."""

    addresses: list[pulumi.Output[str]]
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnEndpointArgs | VpnEndpointArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(VpnEndpointArgs, args)
        super().__init__(TOKEN, name, None, opts)
        plan, physical, network_id = args.plan, args.physical, args.network_id
        self._name, self._physical, self._network = name, physical, network_id
        child = pulumi.ResourceOptions(parent=self)
        gateway = compute.HaVpnGateway(name, name=physical, network=network_id, stack_type="IPV4_ONLY", opts=child)
        self._router = compute.Router(
            f"{name}-router",
            name=rfc1035(physical, "router"),
            network=network_id,
            bgp={
                "asn": plan.asn,
                "advertise_mode": "CUSTOM",
                "advertised_ip_ranges": [{"range": cidr, "description": "cell network"} for cidr in plan.cidrs],
            },
            opts=child,
        )
        self._gateway = gateway
        self.gateway_id = gateway.id
        self.addresses = [gateway.vpn_interfaces.apply(lambda interfaces, i=i: interfaces[i].ip_address) for i in range(2)]
        self.register_outputs({"gateway_id": self.gateway_id, "addresses": self.addresses})

    def connect(
        self, link: LinkPlan, peer_addresses: list[pulumi.Output[str]], shared_keys: list[pulumi.Output[str]]
    ) -> list[pulumi.Output[str]]:
        child = pulumi.ResourceOptions(parent=self)
        peer = compute.ExternalVpnGateway(
            f"{self._name}-{link.peer}",
            name=rfc1035(self._physical, link.peer),
            redundancy_type=REDUNDANCY[len(link.tunnels)],
            interfaces=[{"id": t.index, "ip_address": peer_addresses[t.index]} for t in link.tunnels],
            description=f"the VPN gateway of cell {link.peer}",
            opts=child,
        )
        for tunnel in link.tunnels:
            self._tunnel(link, tunnel, peer, shared_keys[tunnel.index])
        compute.Firewall(
            f"{self._name}-{link.peer}-mesh",
            name=rfc1035(self._physical, link.peer, "mesh"),
            network=self._network,
            direction="INGRESS",
            source_ranges=list(link.peer_cidrs),
            allows=[{"protocol": "tcp", "ports": [str(p) for p in MESH_PORTS]}],
            description=f"mesh from cell {link.peer} over the VPN",
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
            opts=child,
        )
        return [self.addresses[t.interface] for t in link.tunnels]

    def _tunnel(self, link: LinkPlan, tunnel: TunnelPlan, peer: compute.ExternalVpnGateway, key: pulumi.Output[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        name = f"{self._name}-{link.peer}-{tunnel.index}"
        physical = rfc1035(self._physical, link.peer, str(tunnel.index))
        vpn_tunnel = compute.VPNTunnel(
            name,
            name=physical,
            vpn_gateway=self.gateway_id,
            vpn_gateway_interface=tunnel.interface,
            peer_external_gateway=peer.id,
            peer_external_gateway_interface=tunnel.index,
            shared_secret=key,
            router=self._router.id,
            ike_version=IPSEC.ike_version,
            cipher_suite=CIPHER_SUITE,
            opts=child,
        )
        interface = compute.RouterInterface(
            name,
            name=physical,
            router=self._router.name,
            region=self._router.region,
            ip_range=f"{tunnel.inside_ip}/30",
            vpn_tunnel=vpn_tunnel.name,
            opts=child,
        )
        compute.RouterPeer(
            name,
            name=physical,
            router=self._router.name,
            region=self._router.region,
            interface=interface.name,
            ip_address=tunnel.inside_ip,
            peer_ip_address=tunnel.peer_inside_ip,
            peer_asn=link.peer_asn,
            opts=child,
        )
