"""The AWS cell's own settings: VPC, EKS cluster and S3 data lake (docs/design.md, "Data lake")."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from .common import (
    CellBase,
    Cidr,
    ClusterEndpointSpec,
    DataLakeZonesSpec,
    NodeScaling,
    SpecIssues,
    Strict,
)
from .interconnect import VpnSpec

ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class AwsNetworkSpec(Strict):
    cidr: Cidr = "10.0.0.0/16"
    availability_zones: int = Field(2, ge=2, le=6, description="AZs to spread subnets over (>= 2 for EKS).")
    single_nat_gateway: bool = Field(
        False, description="One NAT gateway for the VPC instead of one per AZ: cheaper, but an AZ outage cuts egress."
    )

    @model_validator(mode="after")
    def _room_for_subnets(self) -> "AwsNetworkSpec":
        prefix = ipaddress.IPv4Network(self.cidr).prefixlen
        if prefix > 20:
            raise SpecIssues([(("cidr",), f"/{prefix} is too small for 2 subnets per AZ; use /20 or larger (e.g. /16)")])
        return self


class EksSystemPoolSpec(NodeScaling):
    """The CPU node group that runs cluster add-ons, istiod and the GPU operator's controllers."""

    instance_types: list[str] = Field(default_factory=lambda: ["m6i.large"], min_length=1)
    min_size: int = Field(2, ge=1, le=100)
    max_size: int = Field(4, ge=1, le=100)
    disk_size_gb: int = Field(50, ge=20, le=16384)


class EksClusterSpec(ClusterEndpointSpec):
    control_plane_logs: list[ControlPlaneLog] = Field(
        default_factory=lambda: ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    system_pool: EksSystemPoolSpec = Field(default_factory=EksSystemPoolSpec)


class BackupSpec(Strict):
    region: str = Field(description="Region that receives a replica of every zone (cross-region replication).")


class S3DataLakeSpec(DataLakeZonesSpec):
    """S3: a bucket per zone, with server access logs and, when asked, a replica of every zone in another region."""

    backup: BackupSpec | None = None
    access_logs_retention_days: int = Field(365, ge=1)


class AwsCellSpec(CellBase):
    """An AWS region's cell: a VPC, an EKS cluster with GPU node groups, an S3 lake and an ECR repository."""

    cloud: Literal["aws"] = "aws"
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="An AWS region, e.g. us-east-1")
    network: AwsNetworkSpec = Field(default_factory=AwsNetworkSpec)
    cluster: EksClusterSpec = Field(default_factory=EksClusterSpec)
    data_lake: S3DataLakeSpec = Field(default_factory=S3DataLakeSpec)
    vpn: VpnSpec = Field(default_factory=VpnSpec, description="Its end of the VPN to the stack's other cells.")

    # A VPN connection's outside addresses exist only with the connection (lepton_infra/spec/interconnect.py).
    vpn_addresses = "per_link"

    def routed_cidrs(self) -> dict[tuple[str, ...], str]:
        # The VPC CNI gives pods VPC addresses: the VPC is everything peers reach (nodes, pods, internal LBs, the
        # EKS API's private endpoint ENIs). The Service range is EKS's own choice, outside the spec.
        return {("network", "cidr"): self.network.cidr}

    @model_validator(mode="after")
    def _backup_elsewhere(self) -> "AwsCellSpec":
        if issues := self.backup_region_issues():
            raise SpecIssues(issues)
        return self



# The names these had in lepton-infra 0.1, when AWS was the only cloud.
NetworkSpec = AwsNetworkSpec
SystemPoolSpec = EksSystemPoolSpec
ClusterSpec = EksClusterSpec
DataLakeSpec = S3DataLakeSpec


__all__ = [
    "AwsCellSpec",
    "AwsNetworkSpec",
    "BackupSpec",
    "ClusterSpec",
    "ControlPlaneLog",
    "DataLakeSpec",
    "EksClusterSpec",
    "EksSystemPoolSpec",
    "NetworkSpec",
    "S3DataLakeSpec",
    "SystemPoolSpec",
]
