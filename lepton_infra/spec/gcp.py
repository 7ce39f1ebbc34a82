"""The GCP cell's own settings: VPC, GKE Standard cluster and GCS data lake (docs/design.md, "Data lake").

Label rules (keys and values of GCP resource labels: lowercase letters, digits, '_' and '-', at most 63 characters,
keys starting with a letter) come from https://cloud.google.com/resource-manager/docs/labels-overview#requirements.
"""

from __future__ import annotations

import ipaddress
import re
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

# us-central1, europe-west4, northamerica-northeast2: no dash before the number (AWS writes us-east-1).
GCP_REGION_PATTERN = r"^[a-z]+(-[a-z]+)+\d+$"
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")

ReleaseChannel = Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"]
GpuDriverVersion = Literal["DEFAULT", "LATEST"]


def _labels(value: dict[str, str]) -> dict[str, str]:
    bad = [k for k, v in value.items() if not _LABEL_KEY.match(k) or not _LABEL_VALUE.match(v)]
    if bad:
        raise ValueError(
            f"not GCP labels: {bad}; keys are 1-63 lowercase letters, digits, '_' and '-' starting with a letter, "
            "values up to 63 of the same (components.gcp.labels_from_tags converts tags such as lepton.ai/cell)"
        )
    return value


def _region(value: str) -> str:
    if not re.match(GCP_REGION_PATTERN, value):
        raise ValueError(f"{value!r} is not a GCP region: GCP spells them like us-central1 or europe-west4 (no '-' before the number)")
    return value


GcpLabels = Annotated[
    dict[str, str],
    AfterValidator(_labels),
    schema_rule(propertyNames={"pattern": _LABEL_KEY.pattern}, additionalProperties={"type": "string", "pattern": _LABEL_VALUE.pattern}),
]
GcpRegion = Annotated[str, AfterValidator(_region), schema_rule(pattern=GCP_REGION_PATTERN)]


class GcpNetworkSpec(Strict):
    """A custom-mode VPC with one subnet for nodes and two secondary ranges (pods, services) for a VPC-native cluster.

    The control plane needs no range of its own: GKE reaches private nodes through Private Service Connect
    (https://cloud.google.com/kubernetes-engine/docs/concepts/private-service-connect).
    """

    cidr: Cidr = Field("10.0.0.0/20", description="Primary range of the subnet: one address per node.")
    pods_cidr: Cidr = Field("10.4.0.0/14", description="Secondary range for pods (a /24 per node by default).")
    services_cidr: Cidr = Field("10.8.0.0/20", description="Secondary range for Service cluster IPs.")

    @model_validator(mode="after")
    def _disjoint_private_ranges(self) -> "GcpNetworkSpec":
        ranges = {name: ipaddress.IPv4Network(getattr(self, name)) for name in ("cidr", "pods_cidr", "services_cidr")}
        issues: list[tuple[tuple[str | int, ...], str]] = [
            ((name,), f"{net} is not an RFC 1918 private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
            for name, net in ranges.items()
            if not net.is_private
        ]
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if ranges[first].overlaps(ranges[second]):
                    issues.append(((second,), f"{ranges[second]} overlaps {first} {ranges[first]}; the ranges must be disjoint"))
        if issues:
            raise SpecIssues(issues)
        return self


class GkeSystemPoolSpec(NodeScaling):
    """The CPU node pool that runs cluster add-ons, istiod and the GPU operator's controllers."""

    machine_type: str = Field("e2-standard-4", pattern=r"^[a-z0-9]+(-[a-z0-9]+)+$")
    min_size: int = Field(2, ge=1, le=100, description="Nodes in the whole pool (all zones), not per zone.")
    max_size: int = Field(4, ge=1, le=100)
    disk_size_gb: int = Field(50, ge=20, le=16384)


class GkeClusterSpec(ClusterEndpointSpec):
    release_channel: ReleaseChannel = Field("REGULAR", description="How GKE upgrades the cluster and its nodes.")
    node_zones: list[str] = Field(
        default_factory=list,
        description="Zones of the region for every node pool; empty: GKE's default zones. Name zones that offer "
        "your GPUs (not every zone of a region has every accelerator).",
    )
    system_pool: GkeSystemPoolSpec = Field(default_factory=GkeSystemPoolSpec)


class GcsBackupSpec(Strict):
    region: GcpRegion = Field(
        description="Region of a second bucket per zone that Cloud Storage cross-bucket replication copies every new "
        "and updated object into (deletes are not replicated), under a key of that region."
    )


class GcsDataLakeSpec(DataLakeZonesSpec):
    """GCS: a bucket per zone, catalogued in a BigQuery dataset per zone, with usage logs in a bucket of their own."""

    backup: GcsBackupSpec | None = None

    access_logs: bool = Field(
        True,
        description="Cloud Storage usage logs of every zone bucket into a log bucket, besides the Cloud Audit Logs "
        "(Data Access) the cell turns on for Cloud Storage and routes to its audit log bucket (the cell's `audit`).",
    )
    access_logs_retention_days: int = Field(365, ge=1)


# A Cloud Logging bucket's retention: 1 to 3650 days (Cloud Logging API, LogBucket.retention_days).
LOG_BUCKET_MAX_RETENTION_DAYS = 3650


class GcpAuditSpec(AuditSpec):
    """The cell's Cloud Logging bucket (GKE's and the lake's audit logs, routed by a sink) keeps logs this long."""

    retention_days: int | None = audit_retention_field(ge=AUDIT_RETENTION_DAYS, le=LOG_BUCKET_MAX_RETENTION_DAYS)


class GcpCellSpec(CellBase):
    """A GCP region's cell: a VPC, a GKE Standard cluster with GPU node pools, a GCS lake and an Artifact Registry."""

    cloud: Literal["gcp"] = "gcp"
    region: GcpRegion = Field(description="A GCP region, e.g. us-central1")
    network: GcpNetworkSpec = Field(default_factory=GcpNetworkSpec)
    cluster: GkeClusterSpec = Field(default_factory=GkeClusterSpec)
    data_lake: GcsDataLakeSpec = Field(default_factory=GcsDataLakeSpec)
    audit: GcpAuditSpec = Field(default_factory=GcpAuditSpec)
    vpn: VpnSpec = Field(default_factory=VpnSpec, description="Its end of the VPN to the stack's other cells.")
    gpu_driver_version: GpuDriverVersion = Field(
        "DEFAULT", description="The NVIDIA driver GKE installs on GPU nodes (DEFAULT or LATEST for the node image)."
    )

    vpn_addresses = "fixed"  # an HA VPN gateway's two interfaces (lepton_infra/spec/interconnect.py)

    def routed_cidrs(self) -> dict[tuple[str, ...], str]:
        # VPC-native pods keep their addresses towards RFC 1918 destinations (GKE's ip-masq-agent does not masquerade
        # to them by default), so peers see and answer the pod range; nodes, internal LBs and the control plane's
        # private endpoint (Private Service Connect) are in the subnet's primary range.
        return {("network", "cidr"): self.network.cidr, ("network", "pods_cidr"): self.network.pods_cidr}

    def local_cidrs(self) -> dict[tuple[str, ...], str]:
        return {("network", "services_cidr"): self.network.services_cidr}

    @model_validator(mode="after")
    def _zones_in_region(self) -> "GcpCellSpec":
        issues = [
            (("cluster", "node_zones", i), f"{zone!r} is not a zone of {self.region} (e.g. {self.region}-a)")
            for i, zone in enumerate(self.cluster.node_zones)
            if not re.fullmatch(rf"{re.escape(self.region)}-[a-z]", zone)
        ]
        issues += self.backup_region_issues()
        if issues:
            raise SpecIssues(issues)
        return self



__all__ = [
    "GCP_REGION_PATTERN",
    "GcpAuditSpec",
    "LOG_BUCKET_MAX_RETENTION_DAYS",
    "GcsBackupSpec",
    "GcpCellSpec",
    "GcpLabels",
    "GcpNetworkSpec",
    "GcpRegion",
    "GcsDataLakeSpec",
    "GkeClusterSpec",
    "GkeSystemPoolSpec",
    "GpuDriverVersion",
    "ReleaseChannel",
]
