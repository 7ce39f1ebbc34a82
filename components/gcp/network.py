"""The VPC a GKE cell lives in: custom mode, one regional subnet with secondary ranges for pods and services, private
Google access, VPC flow logs, and Cloud NAT so private nodes (no external IPs) reach registries and the internet.

- Custom mode (``auto_create_subnetworks`` false): no subnet in every region the cell never uses.
- Private Google Access lets nodes without external addresses call Google APIs (GCS, Artifact Registry, IAM)
  (https://cloud.google.com/vpc/docs/private-google-access).
- VPC-native GKE takes pod and Service addresses from the subnet's secondary ranges
  (https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips).
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict
import pulumi
import pulumi_gcp.compute as compute
from pydantic import Field

from lepton_infra.spec import ComponentArgs, parse_model
from lepton_infra.spec.gcp import GcpNetworkSpec

from ._names import rfc1035

TOKEN = "lepton:gcp:Network"
PODS_RANGE = "pods"
SERVICES_RANGE = "services"
# All flows, at the finest interval, with metadata: the traffic audit trail AWS's flow logs give (ALL, 60 s).
FLOW_LOGS = {"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 1.0, "metadata": "INCLUDE_ALL_METADATA"}
NAT_LOGS = {"enable": True, "filter": "ERRORS_ONLY"}


class NetworkArgsDict(TypedDict, total=False):
    """NetworkArgs as a plain dict: the same keys, validated the same way."""

    spec: GcpNetworkSpec | Mapping[str, Any]
    name: str | None


class NetworkArgs(ComponentArgs):
    spec: GcpNetworkSpec = Field(default_factory=GcpNetworkSpec)
    name: str | None = Field(
        None,
        pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Physical name of the VPC (and prefix of its subnet, router and NAT). Default: <stack>-<name>.",
    )


class Network(pulumi.ComponentResource):
    """VPC, subnet (nodes) with pod and service secondary ranges, flow logs, Cloud Router and Cloud NAT."""

    network_id: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    subnetwork_id: pulumi.Output[str]
    subnetwork_self_link: pulumi.Output[str]
    pods_range_name: str
    services_range_name: str

    def __init__(self, name: str, args: NetworkArgs | NetworkArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(NetworkArgs, args)
        super().__init__(TOKEN, name, None, opts)
        spec = args.spec
        physical = args.name or rfc1035(pulumi.get_stack(), name)
        child = pulumi.ResourceOptions(parent=self)

        network = compute.Network(
            name,
            name=physical,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description="lepton-infra cell network",
            opts=child,
        )
        subnet = compute.Subnetwork(
            f"{name}-nodes",
            name=rfc1035(physical, "nodes"),
            network=network.id,
            ip_cidr_range=spec.cidr,
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": spec.pods_cidr},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": spec.services_cidr},
            ],
            private_ip_google_access=True,
            stack_type="IPV4_ONLY",
            log_config=FLOW_LOGS,
            opts=child,
        )
        router = compute.Router(f"{name}-router", name=rfc1035(physical, "router"), network=network.id, opts=child)
        # NAT for every range of the subnet (nodes and pods): private nodes have no external address of their own.
        compute.RouterNat(
            f"{name}-nat",
            name=rfc1035(physical, "nat"),
            router=router.name,
            region=router.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": subnet.self_link, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config=NAT_LOGS,
            opts=child,
        )

        self.network_id = network.id
        self.network_self_link = network.self_link
        self.subnetwork_id = subnet.id
        self.subnetwork_self_link = subnet.self_link
        self.pods_range_name = PODS_RANGE
        self.services_range_name = SERVICES_RANGE
        self.register_outputs(
            {
                "network_id": self.network_id,
                "network_self_link": self.network_self_link,
                "subnetwork_id": self.subnetwork_id,
                "subnetwork_self_link": self.subnetwork_self_link,
            }
        )
