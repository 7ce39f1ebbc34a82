"""The AWS cell's own settings: VPC, EKS cluster and S3 data lake (docs/design.md, "Data lake")."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .common import (
    AUDIT_RETENTION_DAYS,
    AuditSpec,
    CellBase,
    audit_retention_field,
    Cidr,
    ClusterEndpointSpec,
    DataLakeZonesSpec,
    NodeScaling,
    SpecIssues,
    Strict,
    schema_rule,
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


# The retention values CloudWatch Logs accepts (botocore's logs service model, PutRetentionPolicy retentionInDays).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def cloudwatch_retention_issue(days: int) -> str | None:
    """Why CloudWatch Logs refuses a retention of ``days``, or None."""
    if days in CLOUDWATCH_RETENTION_DAYS:
        return None
    return f"CloudWatch Logs keeps logs for one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))} days"


def _cloudwatch_retention(days: int) -> int:
    if problem := cloudwatch_retention_issue(days):
        raise ValueError(problem)
    return days


CloudWatchRetention = Annotated[int, AfterValidator(_cloudwatch_retention), schema_rule(enum=list(CLOUDWATCH_RETENTION_DAYS))]


# Those an audit trail may keep (a month at least).
AUDIT_CLOUDWATCH_RETENTION_DAYS = tuple(d for d in CLOUDWATCH_RETENTION_DAYS if d >= AUDIT_RETENTION_DAYS)


class AwsAuditSpec(AuditSpec):
    """The EKS control-plane log group (CloudWatch Logs) and the lake's CloudTrail log bucket keep logs this long."""

    retention_days: Literal[AUDIT_CLOUDWATCH_RETENTION_DAYS] | None = audit_retention_field()  # type: ignore[valid-type]


class AwsCellSpec(CellBase):
    """An AWS region's cell: a VPC, an EKS cluster with GPU node groups, an S3 lake and an ECR repository."""

    cloud: Literal["aws"] = "aws"
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="An AWS region, e.g. us-east-1")
    network: AwsNetworkSpec = Field(default_factory=AwsNetworkSpec)
    cluster: EksClusterSpec = Field(default_factory=EksClusterSpec)
    data_lake: S3DataLakeSpec = Field(default_factory=S3DataLakeSpec)
    audit: AwsAuditSpec = Field(default_factory=AwsAuditSpec)
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
    "AwsAuditSpec",
    "AwsCellSpec",
    "CLOUDWATCH_RETENTION_DAYS",
    "CloudWatchRetention",
    "cloudwatch_retention_issue",
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
