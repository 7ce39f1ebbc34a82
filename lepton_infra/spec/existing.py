"""An existing Kubernetes cluster's cell (on-prem, or kind / minikube on a laptop): no cloud resources at all.

The cluster, its nodes and their labels are already there; the cell adds the in-cluster layer, an S3-compatible lake
(SeaweedFS in the cluster, or an external endpoint) and a registry the cluster can pull from
(docs/design.md, "Data lake", existing cluster).
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .common import (
    DEFAULT_KUBERNETES_VERSION,
    KUBERNETES_VERSIONS,
    CellBase,
    Cidr,
    DataLakeZonesSpec,
    DnsLabel,
    GpuRuntimeSpec,
    LogsSpec,
    RegistrySpec,
    SpecIssues,
    Strict,
)

# Secret stack config keys the existing cell reads (`pulumi config set --secret lepton-platform:<key> ...`).
KUBECONFIG_KEY = "kubeconfig"
# The serving image's push credentials, JSON {"username": ..., "password": ...}; absent: push without auth.
REGISTRY_CREDENTIALS_KEY = "registryCredentials"
# The external lake's keys, JSON {"access_key_id": ..., "secret_access_key": ...}.
LAKE_CREDENTIALS_KEY = "lakeCredentials"
# A pinned SeaweedFS chart (https://seaweedfs.github.io/seaweedfs/helm), vendored in tests/upstream/seaweedfs-4.44.
SEAWEEDFS_CHART_VERSION = "4.44.0"


class ExistingClusterSpec(Strict):
    kubernetes_version: Literal[KUBERNETES_VERSIONS] = DEFAULT_KUBERNETES_VERSION  # type: ignore[valid-type]
    # The kubeconfig is the secret stack config lepton-platform:kubeconfig when set, else the ambient one
    # (KUBECONFIG / ~/.kube/config): a pulumi_kubernetes Provider without kubeconfig reads it.
    context: str | None = Field(None, min_length=1, description="A context of that kubeconfig; default: its current one.")
    # What the other cells' istiod use to watch this cluster when a stack joins several cells into one mesh
    # (docs/design.md, "Mesh"). Given, not read from the kubeconfig: a kind or minikube kubeconfig says
    # https://127.0.0.1:<port>, which no other cluster can reach, and it may name a CA file instead of its data.
    api_endpoint: str | None = Field(
        None,
        pattern=r"^https://[^\s/]+(/.*)?$",
        description="The API server as the other cells reach it (https://host[:port]); needed when the stack has several cells.",
    )
    certificate_authority_data: str | None = Field(
        None,
        description="The API server's CA bundle, base64 PEM (kubeconfig's certificate-authority-data); with api_endpoint.",
    )

    @field_validator("certificate_authority_data")
    @classmethod
    def _base64_pem(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            pem = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64 (kubeconfig's certificate-authority-data), not the PEM text itself") from None
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise ValueError("must be a base64 PEM certificate bundle (-----BEGIN CERTIFICATE-----)")
        return value

    @model_validator(mode="after")
    def _endpoint_with_its_ca(self) -> "ExistingClusterSpec":
        if (self.api_endpoint is None) != (self.certificate_authority_data is None):
            missing = "certificate_authority_data" if self.certificate_authority_data is None else "api_endpoint"
            raise SpecIssues([((missing,), "api_endpoint and certificate_authority_data go together: set both or neither")])
        return self


class ExistingGpuRuntimeSpec(GpuRuntimeSpec):
    install_driver: bool = Field(
        True, description="The GPU operator installs the NVIDIA driver and container toolkit (nodes without them)."
    )


class InClusterLakeSpec(Strict):
    """SeaweedFS in the cluster (its official chart), S3 API on, one bucket per zone."""

    kind: Literal["in_cluster"] = "in_cluster"
    chart_version: str = SEAWEEDFS_CHART_VERSION
    namespace: DnsLabel = "lake"
    volume_size: str = Field("10Gi", pattern=r"^\d+(Mi|Gi|Ti)$", description="Each volume server's storage.")


class ExternalLakeSpec(Strict):
    """An S3-compatible endpoint outside the cluster; its keys come from secret config lepton-platform:lakeCredentials."""

    kind: Literal["external"] = "external"
    endpoint: str = Field(pattern=r"^https?://[^\s/]+(/.*)?$", description="e.g. https://s3.dc1.example.com")
    bucket_prefix: str = Field("", pattern=r"^([a-z0-9][a-z0-9-]*[a-z0-9]-)?$", description="Buckets are <prefix><zone>.")


class ExistingDataLakeSpec(DataLakeZonesSpec):
    store: InClusterLakeSpec | ExternalLakeSpec = Field(default_factory=InClusterLakeSpec, discriminator="kind")


class ExistingRegistrySpec(RegistrySpec):
    url: str = Field(
        "localhost:5001",
        pattern=r"^[A-Za-z0-9.-]+(:\d+)?(/[a-z0-9._/-]+)?$",
        description="Registry host[:port][/path] the image is pushed to and pulled from; the image is <url>/<repository>.",
    )


class ExistingNetworkSpec(Strict):
    """What the other cells of a stack know of this cluster's network. An existing cell joins no VPN: connectivity to
    it is its operator's (docs/design.md, "Mesh" > "Connectivity")."""

    cidrs: list[Cidr] = Field(
        default_factory=list,
        description="The ranges other cells reach this cluster on (its API server, east-west gateway, nodes), routed "
        "by connectivity its operator provides; checked against the other cells' ranges. Empty: the other cells reach "
        "it only at the addresses cluster.api_endpoint and its east-west gateway publish.",
    )


class ExistingLogsSpec(LogsSpec):
    """An existing cluster has no cloud log service the platform knows: its logs go to an OTLP endpoint the spec
    names, or nowhere (the default)."""

    otlp_endpoint: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(:\d+)?(/\S*)?$",
        description="OTLP/HTTP endpoint (http(s)://host[:port][/path]) the cell's container logs are sent to; "
        "unset, they are not shipped.",
    )


class ExistingCellSpec(CellBase):
    """A cell on a cluster that already exists: GPU pools only schedule (their nodes carry the labels already)."""

    cloud: Literal["existing"] = "existing"
    region: DnsLabel = Field(description="A free label for where the cluster is, e.g. on-prem-dc1 or local.")
    cluster: ExistingClusterSpec = Field(default_factory=ExistingClusterSpec)
    registry: ExistingRegistrySpec = Field(default_factory=ExistingRegistrySpec)
    gpu_runtime: ExistingGpuRuntimeSpec = Field(default_factory=ExistingGpuRuntimeSpec)
    data_lake: ExistingDataLakeSpec = Field(default_factory=ExistingDataLakeSpec)
    logs: ExistingLogsSpec = Field(default_factory=ExistingLogsSpec)
    network: ExistingNetworkSpec = Field(default_factory=ExistingNetworkSpec)

    def routed_cidrs(self) -> dict[tuple[str, ...], str]:
        return {("network", "cidrs", i): cidr for i, cidr in enumerate(self.network.cidrs)}  # type: ignore[misc]

    @model_validator(mode="after")
    def _cpu_image_without_gpus(self) -> "ExistingCellSpec":
        if not self.gpu_pools and self.registry.build_variant == "cuda":
            raise SpecIssues([(("registry", "build_variant"), "a cell without GPU pools serves CPU models: use cpu")])
        return self

    def platform_issues(self, protected: bool, serves_models: bool, meshed: bool = False):
        issues = super().platform_issues(protected, serves_models, meshed)
        if meshed and self.cluster.api_endpoint is None:
            issues.append((
                ("cluster", "api_endpoint"),
                "a stack of several cells joins them in one mesh, whose other istiods watch this cluster: set "
                "cluster.api_endpoint (reachable from the other clusters) and cluster.certificate_authority_data",
            ))
        return issues

    @property
    def accelerators(self) -> set[str]:
        # Every existing cluster has CPU nodes: it serves CPU models (ModelSpec accelerator: cpu) besides its pools'.
        return {p.accelerator for p in self.gpu_pools} | {"cpu"}


__all__ = [
    "ExistingCellSpec",
    "ExistingClusterSpec",
    "ExistingDataLakeSpec",
    "ExistingGpuRuntimeSpec",
    "ExistingNetworkSpec",
    "ExistingLogsSpec",
    "ExistingRegistrySpec",
    "ExternalLakeSpec",
    "InClusterLakeSpec",
    "KUBECONFIG_KEY",
    "LAKE_CREDENTIALS_KEY",
    "REGISTRY_CREDENTIALS_KEY",
    "SEAWEEDFS_CHART_VERSION",
]
