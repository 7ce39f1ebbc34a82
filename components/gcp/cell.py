"""The GCP cell foundation: what GCP gives the cloud-neutral in-cluster layer of one cell (lepton_infra.cell_contract).

A provider for the cell's region in the project of the stack's ``gcp:project`` config; the VPC; the GKE cluster and
its GPU node pools (GKE's own cluster autoscaler scales them, from zero); the GCS lake; the Artifact Registry
repository, which the nodes may pull from; and ``bind_model_reader``, which makes a Google service account for one
Kubernetes service account and grants it read on the lake's models zone only.
"""

from __future__ import annotations

import pulumi
from pulumi_gcp.provider import Provider as GcpProvider

from lepton_infra import conventions
from lepton_infra.cell_contract import Capabilities, CellFoundation, Egress, IdentityBinding, LogDestination, Registry
from lepton_infra.spec import MODELS_ZONE, PlatformSpec, SpecError
from lepton_infra.spec.gcp import GcpCellSpec
from lepton_infra.spec.interconnect import VpnPlan, plan_vpn

from . import _project
from .audit_logs import AuditLogs
from ._names import CLUSTER_NAME_MAX, account_id, labels_from_tags, rfc1035
from .cluster import GkeCluster
from .container_logs import ContainerLogs
from .data_lake import DataLake
from .gpu_node_pool import GpuNodePool
from .interconnect import VpnEndpoint
from .network import Network
from .registry import ContainerRegistry
from .workload_identity import WorkloadIdentity

CLOUD = "gcp"
# GKE installs the NVIDIA driver on GPU nodes (gpu_driver_version DEFAULT / LATEST), so the GPU operator leaves the
# driver and toolkit off. Istio CNI needs `global.platform: gke`: GKE keeps CNI binaries in /home/kubernetes/bin and
# allows system-node-critical pods only in namespaces with a ResourceQuota, which the chart's GKE profile creates
# (Istio docs, "Platform-Specific Prerequisites" > GKE; chart file files/profile-platform-gke.yaml).
CAPABILITIES = Capabilities(
    # GKE docs, "Create an internal load balancer" (and Kubernetes docs, "Service" > "Internal load balancer").
    internal_load_balancer_annotations={"networking.gke.io/load-balancer-type": "Internal"},
    gpu_driver_preinstalled=True,
    istio_cni_platform="gke",
    # With gpu_driver_installation_config DEFAULT/LATEST GKE also deploys its own NVIDIA device plugin (GKE docs,
    # "Run GPUs in GKE Standard node pools"; its GPU-operator page disables it with the node label
    # gke-no-default-nvidia-gpu-device-plugin=true instead): ours stays off rather than running two.
    gpu_device_plugin_preinstalled=True,
    # Workload Identity: the pods' Google credentials come from the GKE metadata server on their node (GKE docs,
    # "Authenticate to Google Cloud APIs from GKE workloads", restrictions: with network policy, allow egress to
    # 169.254.169.252/32 port 988, and with GKE Dataplane V2 to 169.254.169.254/32 port 80).
    model_egress=(
        Egress(port=988, cidr="169.254.169.252/32", why="the GKE metadata server (Workload Identity)"),
        Egress(port=80, cidr="169.254.169.254/32", why="the GKE metadata server, GKE Dataplane V2"),
    ),
)


def _project_id() -> str:
    project = pulumi.Config("gcp").get("project")
    if not project:
        raise SpecError(
            [("gcp:project", "missing: the GCP project the cell lives in (pulumi config set gcp:project <project id>)")],
            "GCP cell",
        )
    return project


def build_foundation(parent: pulumi.Resource, name: str, spec: PlatformSpec, cell: GcpCellSpec) -> CellFoundation:
    """Stand up the GCP part of ``cell`` under ``parent``; ``spec`` is the PlatformSpec (environment, protection, tags)."""
    project = _project_id()
    labels = labels_from_tags(conventions.tags(spec.environment, cell.name, spec.tags))
    prefix = rfc1035(spec.environment, cell.name, max_length=CLUSTER_NAME_MAX)
    provider = GcpProvider(f"{name}-gcp", project=project, region=cell.region, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    common = {"protected": spec.protected, "labels": labels}

    network = Network(f"{name}-network", {"spec": cell.network, "name": prefix}, opts=opts)
    # Joined by VPN to other cells: their istiod watches this cluster's API through its private endpoint.
    plan = plan_vpn(spec.cells).get(cell.name)
    peer_cidrs = [cidr for link in plan.links for cidr in link.peer_cidrs] if plan else []
    cluster = GkeCluster(
        f"{name}-cluster",
        {
            "name": prefix,
            "spec": cell.cluster,
            "network": network.network_id,
            "subnetwork": network.subnetwork_id,
            "peer_cidrs": peer_cidrs,
            **common,
        },
        opts=opts,
    )
    pools = [
        GpuNodePool(
            f"{name}-{pool.name}",
            {"pool": pool, "cluster": cluster, "gpu_driver_version": cell.gpu_driver_version, "labels": labels},
            opts=opts,
        )
        for pool in cell.gpu_pools
    ]
    lake = DataLake(f"{name}-lake", {"spec": cell.data_lake, "name_prefix": prefix, **common}, opts=opts)
    # Who touched the cluster and the lake's objects (docs/design.md, "Audit"): Data Access logs on, routed to a CMEK log bucket.
    AuditLogs(
        f"{name}-audit",
        {
            "bucket_id": f"{prefix}-audit",
            "retention_days": cell.audit.retention(spec.protected),
            "cluster_name": cluster.name,
            "lake_buckets": list(lake.buckets.values()),
            **common,
        },
        opts=opts,
    )
    registry = ContainerRegistry(f"{name}-registry", {"spec": cell.registry, "name_prefix": prefix, **common}, opts=opts)
    # Nodes pull the serving image from this repository, and from no other.
    registry.grant_pull("nodes", _project.member(cluster.node_service_account_email))

    def bind_model_reader(namespace: str, service_account: str) -> IdentityBinding:
        identity_name = f"{name}-{service_account}-identity"
        identity = WorkloadIdentity(
            identity_name,
            {
                "cluster": cluster,
                "namespace": namespace,
                "service_account": service_account,
                "account_id": account_id(identity_name),
            },
            opts=opts,
        )
        lake.grant_read(identity, MODELS_ZONE)
        return identity.binding

    def vpn_endpoint(vpn_parent: pulumi.Resource, vpn_name: str, vpn_plan: VpnPlan) -> VpnEndpoint:
        return VpnEndpoint(
            vpn_name,
            {"plan": vpn_plan, "network_id": network.network_id, "physical": rfc1035(prefix, "vpn", max_length=40)},
            opts=pulumi.ResourceOptions(parent=vpn_parent, provider=provider),
        )

    def bind_log_writer(namespace: str, service_account: str) -> LogDestination:
        identity_name = f"{name}-log-collector-identity"
        logs = ContainerLogs(
            f"{name}-container-logs",
            {
                "cluster": cluster,
                "namespace": namespace,
                "service_account": service_account,
                "account_id": account_id(identity_name),
            },
            opts=opts,
        )
        return logs.destination

    return CellFoundation(
        cloud=CLOUD,
        kubernetes_provider=cluster.provider,
        kubernetes_version=cell.cluster.kubernetes_version,
        cluster_name=cluster.name,
        registry=Registry(repository_url=registry.repository_url, credentials=registry.credentials),
        # A lake without a models zone serves no models (the platform spec checks it); its URI is then empty.
        models_uri=lake.bucket_urls.get(MODELS_ZONE) or pulumi.Output.from_input(""),
        bind_model_reader=bind_model_reader,
        capabilities=CAPABILITIES,
        # GKE's own autoscaler brings GPU nodes; the pools (and the cluster's system pool) are what to wait for.
        ready=[cluster, *pools],
        # Over the VPN, the private endpoint; a cell on its own has no peer, and keeps the endpoint its spec asks.
        api_endpoint=cluster.private_api_endpoint if plan else cluster.api_endpoint,
        certificate_authority=cluster.certificate_authority,
        vpn_endpoint=vpn_endpoint,
        bind_log_writer=bind_log_writer,
    )
