"""The VNet an AKS cell lives in, and the subnet its nodes join.

With Azure CNI overlay, pods take addresses from the spec's pod range, outside the VNet; the node subnet only holds
node addresses, so it can stay small. It carries a Microsoft.Storage service endpoint so the lake's firewall can
admit exactly this subnet (Azure Storage docs, "Grant access from a virtual network").
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict
import pulumi
import pulumi_azure_native.network as network
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.azure import AzureNetworkSpec, AzureTags

TOKEN = "lepton:azure:Network"
STORAGE_SERVICE_ENDPOINT = "Microsoft.Storage"


class NetworkArgsDict(TypedDict, total=False):
    """NetworkArgs as a plain dict: the same keys, validated the same way."""

    spec: AzureNetworkSpec | Mapping[str, Any]
    resource_group_name: Required[PulumiInput[str]]
    tags: AzureTags
    firewall: bool


class NetworkArgs(ComponentArgs):
    spec: AzureNetworkSpec = Field(default_factory=AzureNetworkSpec)
    resource_group_name: PulumiInput[str]
    tags: AzureTags = Field(default_factory=dict)
    firewall: bool = Field(
        False,
        description="A network security group on the node subnet, for the rules that scope what other cells may reach "
        "over the VPN (a stack of several cells: components/azure/interconnect.py).",
    )


class Network(pulumi.ComponentResource):
    """A VNet with one node subnet; its ids feed the cluster (nodes) and the lake (firewall rule)."""

    vnet_id: pulumi.Output[str]
    vnet_name: pulumi.Output[str]
    node_subnet: network.Subnet
    security_group_name: pulumi.Output[str] | None  # the node subnet's NSG, with ``firewall``
    node_subnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs | NetworkArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(NetworkArgs, args)
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vnet = network.VirtualNetwork(
            name,
            resource_group_name=args.resource_group_name,
            address_space={"address_prefixes": [args.spec.cidr]},
            tags=args.tags,
            # Subnets are their own resources below; listed inline too they would fight over the VNet's subnets.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.security_group_name = None
        firewall = {}
        if args.firewall:
            # Rules are SecurityRule resources of their own (one set per peer); inline they would fight over them.
            group = network.NetworkSecurityGroup(
                f"{name}-nodes",
                resource_group_name=args.resource_group_name,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["securityRules"]),
            )
            self.security_group_name = group.name
            firewall = {"network_security_group": {"id": group.id}}
        subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=args.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=args.spec.nodes,
            service_endpoints=[{"service": STORAGE_SERVICE_ENDPOINT}],
            **firewall,
            opts=child,
        )
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.node_subnet = subnet  # a VPN endpoint's GatewaySubnet waits for it: Azure changes a VNet's subnets one at a time
        self.node_subnet_id = subnet.id
        self.register_outputs({"vnet_id": self.vnet_id, "vnet_name": self.vnet_name, "node_subnet_id": self.node_subnet_id})
