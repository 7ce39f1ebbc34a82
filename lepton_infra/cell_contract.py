"""The contract between a cloud and the cloud-neutral layer above it (docs/design.md, "Cells").

Every cloud folder (components/<cloud>/cell.py) fills one :class:`CellFoundation` for a cell of the spec: the cluster's
Kubernetes provider, where images go, where models live, how a model's pod gets a cloud identity that may read them,
and what the in-cluster layer must know about the cloud (:class:`Capabilities`), so that layer never asks which
cloud it runs on. The composition (lepton_infra.composition) finds a cloud's foundation by the cell's ``cloud``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

import pulumi

from .spec.interconnect import LinkPlan, VpnPlan

# Where a model's container finds IdentityBinding.secret_files (a read-only Secret volume).
SECRET_FILES_DIR = "/var/run/secrets/lepton"

@dataclass(frozen=True)
class IdentityBinding:
    """What a pod needs to act as a cloud identity.

    AWS IRSA needs only a service-account annotation; Azure workload identity also needs the pod label
    ``azure.workload.identity/use: "true"`` (its webhook mutates only labelled pods); GKE needs the annotation.
    ``env`` carries what the cloud's SDKs read (a region, a client id). ``secret_files`` carries secrets where there
    is no workload identity (an existing cluster's S3 access keys, as an AWS shared credentials file): the model keeps
    them in a Kubernetes Secret of its own, mounted read-only at SECRET_FILES_DIR, so no Deployment spec and no
    environment variable holds them; ``env`` points the SDK at the file.
    """

    service_account_annotations: pulumi.Input[Mapping[str, str]]
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@runtime_checkable
class Grantee(Protocol):
    """A workload identity a data lake can grant access to (an IRSA role, an Azure managed identity, a GCP service
    account). A lake grants only to identities of its own cloud and says so otherwise."""

    cloud: str

    @property
    def binding(self) -> IdentityBinding: ...


@dataclass(frozen=True)
class Egress:
    """A destination a model's pod connects to besides DNS, istiod and HTTPS (which every cell allows): the models
    namespace's NetworkPolicy (components/kubernetes/network_policy.py) allows it. ``cidr`` or ``namespace`` names
    where; neither: anywhere, on that port."""

    port: int
    protocol: str = "TCP"
    cidr: str | None = None
    namespace: str | None = None
    why: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What differs between clouds below the in-cluster layer, as data rather than ``if cloud == ...``."""

    # Annotations that make a Service of type LoadBalancer internal to the cell's network.
    internal_load_balancer_annotations: Mapping[str, str]
    # The node image ships the NVIDIA driver and container toolkit (the GPU operator then leaves them off).
    gpu_driver_preinstalled: bool
    # Istio CNI's ``global.platform`` value where the cloud needs one (GKE: "gke"), else None.
    istio_cni_platform: str | None = None
    # The cloud runs its own NVIDIA device plugin on GPU nodes (GKE, with its driver installation): a second one
    # from the GPU operator would advertise the same GPUs twice, so the operator's stays off.
    gpu_device_plugin_preinstalled: bool = False
    # Where a model's pod connects on this cloud besides DNS, istiod and HTTPS (the object stores and identity
    # endpoints all clouds serve on 443): the GKE metadata server, an existing cluster's S3 endpoint.
    model_egress: tuple[Egress, ...] = ()


@dataclass(frozen=True)
class Registry:
    """Where the serving image is pushed, and the credentials to push it (an Output of {server, username, password}),
    or None for a registry that takes unauthenticated pushes (a local one, e.g. kind's localhost:5001)."""

    repository_url: pulumi.Output[str]
    credentials: pulumi.Output[Mapping[str, Any]] | None
    # What the cluster's nodes need to pull the image, as {server, username, password}: an existing cluster's private
    # registry. None where the nodes' own cloud identity pulls (ECR, ACR and Artifact Registry grants) or none is asked.
    pull_credentials: pulumi.Output[Mapping[str, Any]] | None = None


@runtime_checkable
class VpnEndpoint(Protocol):
    """A cell's VPN gateway, joined to the other cells' by the platform's Interconnect (docs/design.md, "Mesh" >
    "Connectivity"). Its foundation makes it, from the cell's plan (lepton_infra/spec/interconnect.py), under the
    Interconnect; the Interconnect then calls ``connect`` once per peer, the plan's first end first."""

    # The gateway's public addresses by interface, known before any peer (Azure active-active, GCP HA VPN: two);
    # None where each link's connection gets its own (AWS).
    addresses: list[pulumi.Output[str]] | None

    def connect(
        self, link: LinkPlan, peer_addresses: list[pulumi.Output[str]], shared_keys: list[pulumi.Output[str]]
    ) -> list[pulumi.Output[str]]:
        """This end of every tunnel of ``link`` (the peer's address and the pre-shared key by tunnel), routes and
        firewall rules admitting ``link.peer_cidrs`` on the mesh's ports; returns this end's address per tunnel."""
        ...


# Makes a cell's VPN endpoint: (parent, name, the cell's plan) -> VpnEndpoint.
VpnEndpointFactory = Callable[[pulumi.Resource, str, VpnPlan], VpnEndpoint]


@dataclass(frozen=True)
class LogDestination:
    """Where a cell's container logs go: one exporter of the OpenTelemetry Collector (contrib distribution) and the
    cloud identity it writes as. The in-cluster collector (components/kubernetes/log_collector.py) puts ``config``
    under ``exporters.<exporter>`` and ``binding`` on its pods, and never asks which cloud it runs on."""

    exporter: str  # the exporter's id in the collector config: awscloudwatchlogs, googlecloud, otlphttp, ...
    config: Mapping[str, Any]  # its settings (the contrib exporter's documented keys); values may be Outputs
    binding: IdentityBinding | None = None  # how the collector's pods act as the identity that may write; None: none
    description: str = ""  # where the logs land, for people (e.g. "CloudWatch Logs group /lepton/prod/aws-use1")


@dataclass
class CellFoundation:
    """What one cloud gives one cell; every field is cloud-neutral."""

    cloud: str
    kubernetes_provider: pulumi.ProviderResource
    kubernetes_version: str
    cluster_name: pulumi.Output[str]
    registry: Registry
    models_uri: pulumi.Output[str]  # s3://..., abfs://..., gs://...: the lake's models zone, read by the serving image
    # Creates an identity for (namespace, service account) that may read the models zone; returns how a pod uses it.
    bind_model_reader: Callable[[str, str], IdentityBinding]
    capabilities: Capabilities
    ready: list[pulumi.Resource]  # what the in-cluster layer waits for (cluster, node pools, autoscaler)
    # The cluster's API server (https://...) and its CA bundle (base64 PEM, as kubeconfig's certificate-authority-data):
    # what another cell's istiod needs to watch this cluster with a reader token (docs/design.md, "Mesh"). None where a
    # foundation cannot tell; a stack of several cells then refuses such a cell.
    api_endpoint: pulumi.Output[str] | None = None
    certificate_authority: pulumi.Output[str] | None = None
    # The cell's end of the VPN between cells, for a cloud whose cell spec joins one (vpn_addresses); None otherwise.
    vpn_endpoint: VpnEndpointFactory | None = None
    # Makes what the cell's container logs are shipped to for the collector's (namespace, service account): the log
    # store when the cloud needs one, an identity that may only write to it, and the exporter's settings. None, or a
    # None answer: no collector in the cluster (an existing cluster without an OTLP endpoint ships no logs; on Azure,
    # AKS's monitoring add-on ships them: components/azure/container_logs.py).
    bind_log_writer: Callable[[str, str], LogDestination | None] | None = None
