"""An Azure cell's end of the VPN between cells (docs/design.md, "Mesh" > "Connectivity"): a route-based, zone-
redundant, active-active VPN gateway with BGP in the VNet's GatewaySubnet, and per tunnel a local network gateway
(the peer's address and BGP session) and an IKEv2 connection under one custom IPsec/IKE policy.

- GatewaySubnet: the subnet must bear that name and be /27 or larger (VPN Gateway docs, "About gateway subnets").
  It is a Subnet resource of its own, created after the node subnet (Azure changes a VNet's subnets one at a time);
  the VNet ignores its inline subnets (components/azure/network.py), so adding this one updates nothing else.
- Active-active (two instances, two Standard zone-redundant public IPs, an AZ SKU): the cheap HA Azure offers, and
  the two "fixed" addresses the plan gives peers (lepton_infra/spec/interconnect.py).
- BGP on link-local addresses: each instance lists the APIPA addresses (169.254.21.0-169.254.22.255) it uses, and
  each connection names the one per instance it speaks from (gatewayCustomBgpIpAddresses; "Configure BGP for VPN
  Gateway", and "How to connect AWS and Azure using BGP"). A connection's tunnel leaves from the plan's interface; the
  other instance is given its own address for the sibling tunnel of that peer, which that peer's gateway never
  accepts from it, so it stays idle. The instances' lists grow when a peer is added: an in-place update.
- Firewall: the node subnet gets a network security group (only in a stack of several cells) admitting each peer's
  ranges on the mesh's ports and denying them everything else; Azure's default rules would otherwise admit them on
  every port (the VirtualNetwork service tag includes the ranges a VPN gateway learns).
"""

from __future__ import annotations

from typing import Any, Required, Sequence, TypedDict

import pulumi
import pulumi_azure_native.network as network
from pydantic import Field

from lepton_infra.spec import Cidr, ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.azure import AzureTags
from lepton_infra.spec.interconnect import IPSEC, MESH_PORTS, PAIR_BLOCKS, LinkPlan, TunnelPlan, VpnPlan

TOKEN = "lepton:azure:VpnEndpoint"
GATEWAY_SUBNET = "GatewaySubnet"
# VpnGw2AZ: zone-redundant, active-active, BGP, custom IPsec policies (VPN Gateway SKUs, Generation2).
SKU = "VpnGw2AZ"
ZONES = ["1", "2", "3"]
# The IPsec suite in Azure's names (IpsecPolicy). sa_data_size_kilobytes: Azure's default, 102400000.
IPSEC_POLICY = {
    "ike_encryption": "AES256",
    "ike_integrity": "SHA256",
    "dh_group": f"DHGroup{IPSEC.dh_group}",
    "ipsec_encryption": "AES256",
    "ipsec_integrity": "SHA256",
    "pfs_group": "PFS2048",  # DH group 14
    "sa_life_time_seconds": IPSEC.phase2_lifetime_seconds,
    "sa_data_size_kilobytes": 102400000,
}
# NSG rule priorities (100-4096, unique per direction): per peer, by its ASN modulo 32, which the spec keeps distinct.
ALLOW_PRIORITY, DENY_PRIORITY = 1000, 3000


def ip_configuration(index: int) -> str:
    return f"vpn-{index}"


def sibling(link: LinkPlan, tunnel: TunnelPlan) -> TunnelPlan:
    """The tunnel of the same link in the same position on the gateway's other interface."""
    mine = [t for t in link.tunnels if t.interface == tunnel.interface]
    other = [t for t in link.tunnels if t.interface != tunnel.interface]
    return other[mine.index(tunnel) % len(other)] if other else tunnel


class VpnEndpointArgsDict(TypedDict, total=False):
    """VpnEndpointArgs as a plain dict: the same keys, validated the same way."""

    plan: Required[VpnPlan]
    resource_group_name: Required[PulumiInput[str]]
    resource_group_id: Required[PulumiInput[str]]
    vnet_name: Required[PulumiInput[str]]
    gateway_subnet_cidr: Required[Cidr]
    after: Sequence[Any]
    security_group_name: Required[PulumiInput[str]]
    tags: AzureTags


class VpnEndpointArgs(ComponentArgs):
    plan: VpnPlan = Field(description="The cell's end of every link (lepton_infra.spec.interconnect.plan_vpn).")
    resource_group_name: PulumiInput[str]
    resource_group_id: PulumiInput[str] = Field(description="The group's ARM id: the gateway's ipConfiguration ids start with it.")
    vnet_name: PulumiInput[str]
    gateway_subnet_cidr: Cidr
    after: list[Any] = Field(default_factory=list, description="What the GatewaySubnet waits for (the VNet's other subnets).")
    security_group_name: PulumiInput[str] = Field(description="The node subnet's network security group: peers' rules go there.")
    tags: AzureTags = Field(default_factory=dict)


class VpnEndpoint(pulumi.ComponentResource):
    """The VNet's VPN gateway and the node subnet's firewall; ``connect`` adds one peer's tunnels and rules."""

    addresses: list[pulumi.Output[str]]
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnEndpointArgs | VpnEndpointArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(VpnEndpointArgs, args)
        super().__init__(TOKEN, name, None, opts)
        plan, resource_group_name, tags = args.plan, args.resource_group_name, args.tags
        self._name, self._group, self._tags, self._nsg = name, resource_group_name, tags, args.security_group_name
        child = pulumi.ResourceOptions(parent=self)
        subnet = network.Subnet(
            f"{name}-gateway-subnet",
            subnet_name=GATEWAY_SUBNET,
            resource_group_name=resource_group_name,
            virtual_network_name=args.vnet_name,
            address_prefix=args.gateway_subnet_cidr,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        ips = [
            network.PublicIPAddress(
                f"{name}-{i}",
                resource_group_name=resource_group_name,
                sku={"name": "Standard", "tier": "Regional"},
                public_ip_allocation_method="Static",
                zones=ZONES,
                tags=tags,
                opts=child,
            )
            for i in range(2)
        ]
        # Physical name fixed, so each instance's ipConfiguration id is known before the gateway exists.
        self._gateway_name = name
        self._gateway_path = pulumi.Output.concat(
            args.resource_group_id, "/providers/Microsoft.Network/virtualNetworkGateways/", name, "/ipConfigurations/"
        )
        gateway = network.VirtualNetworkGateway(
            name,
            virtual_network_gateway_name=name,
            resource_group_name=resource_group_name,
            gateway_type="Vpn",
            vpn_type="RouteBased",
            vpn_gateway_generation="Generation2",
            sku={"name": SKU, "tier": SKU},
            active_active=True,
            enable_bgp=True,
            bgp_settings={
                "asn": plan.asn,
                "bgp_peering_addresses": [
                    {"ipconfiguration_id": self._configuration_id(i), "custom_bgp_ip_addresses": plan.tunnels_on(i)}
                    for i in range(2)
                ],
            },
            ip_configurations=[
                {
                    "name": ip_configuration(i),
                    "public_ip_address": {"id": ip.id},
                    "subnet": {"id": subnet.id},
                    "private_ip_allocation_method": "Dynamic",
                }
                for i, ip in enumerate(ips)
            ],
            tags=tags,
            opts=child,
        )
        self.gateway_id = gateway.id
        self.addresses = [ip.ip_address for ip in ips]  # Standard static: allocated with the address
        self.register_outputs({"gateway_id": self.gateway_id, "addresses": self.addresses})

    def _configuration_id(self, index: int) -> pulumi.Output[str]:
        return pulumi.Output.concat(self._gateway_path, ip_configuration(index))

    def connect(
        self, link: LinkPlan, peer_addresses: list[pulumi.Output[str]], shared_keys: list[pulumi.Output[str]]
    ) -> list[pulumi.Output[str]]:
        for tunnel in link.tunnels:
            self._tunnel(link, tunnel, peer_addresses[tunnel.index], shared_keys[tunnel.index])
        self._admit(link)
        return [self.addresses[t.interface] for t in link.tunnels]

    def _tunnel(self, link: LinkPlan, tunnel: TunnelPlan, peer_address: pulumi.Output[str], key: pulumi.Output[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        name = f"{self._name}-{link.peer}-{tunnel.index}"
        peer = network.LocalNetworkGateway(
            name,
            local_network_gateway_name=name,
            resource_group_name=self._group,
            gateway_ip_address=peer_address,
            # With BGP the peer's routes come over the session; the gateway needs only its BGP address.
            bgp_settings={"asn": link.peer_asn, "bgp_peering_address": tunnel.peer_inside_ip},
            tags=self._tags,
            opts=child,
        )
        other = sibling(link, tunnel)
        network.VirtualNetworkGatewayConnection(
            name,
            virtual_network_gateway_connection_name=name,
            resource_group_name=self._group,
            connection_type="IPsec",
            connection_protocol=f"IKEv{IPSEC.ike_version}",
            virtual_network_gateway1={"id": self.gateway_id},
            local_network_gateway2={"id": peer.id},
            enable_bgp=True,
            shared_key=key,
            ipsec_policies=[IPSEC_POLICY],
            gateway_custom_bgp_ip_addresses=[
                {"ip_configuration_id": self._configuration_id(tunnel.interface), "custom_bgp_ip_address": tunnel.inside_ip},
                {"ip_configuration_id": self._configuration_id(other.interface), "custom_bgp_ip_address": other.inside_ip},
            ] if other is not tunnel else [
                {"ip_configuration_id": self._configuration_id(tunnel.interface), "custom_bgp_ip_address": tunnel.inside_ip},
            ],
            tags=self._tags,
            opts=child,
        )

    def _admit(self, link: LinkPlan) -> None:
        """The mesh's ports from the peer's ranges, then nothing else from them."""
        slot = link.peer_asn % PAIR_BLOCKS
        child = pulumi.ResourceOptions(parent=self)
        common = {
            "resource_group_name": self._group,
            "network_security_group_name": self._nsg,
            "direction": "Inbound",
            "protocol": "*",
            "source_address_prefixes": list(link.peer_cidrs),
            "source_port_range": "*",
            "destination_address_prefix": "VirtualNetwork",
        }
        network.SecurityRule(
            f"{self._name}-{link.peer}-mesh",
            security_rule_name=f"mesh-from-{link.peer}",
            priority=ALLOW_PRIORITY + slot,
            access="Allow",
            **{**common, "protocol": "Tcp"},
            destination_port_ranges=[str(p) for p in MESH_PORTS],
            description=f"mesh from cell {link.peer} over the VPN",
            opts=child,
        )
        network.SecurityRule(
            f"{self._name}-{link.peer}-deny",
            security_rule_name=f"deny-from-{link.peer}",
            priority=DENY_PRIORITY + slot,
            access="Deny",
            **common,
            destination_port_range="*",
            description=f"nothing else from cell {link.peer}",
            opts=child,
        )
