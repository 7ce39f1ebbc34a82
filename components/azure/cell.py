"""The Azure cell foundation: what an Azure region gives the cloud-neutral in-cluster layer (lepton_infra.cell_contract).

One resource group holds the cell (protected in protected environments: deleting a group deletes everything in it),
with the network, the AKS cluster and its GPU pools, the ADLS Gen2 lake and the registry the nodes may pull from.
A model's pod reads the lake's models zone as a workload identity that ``bind_model_reader`` federates to its
service account and grants Storage Blob Data Reader on that one filesystem.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native.resources as resources
from pulumi_azure_native.provider import Provider

from lepton_infra import conventions
from lepton_infra.cell_contract import Capabilities, CellFoundation, IdentityBinding, Registry
from lepton_infra.spec import MODELS_ZONE, PlatformSpec
from lepton_infra.spec.azure import AzureCellSpec, azure_tags
from lepton_infra.spec.interconnect import VpnPlan, plan_vpn

from .._resource_options import data_options
from .audit_logs import AuditLogs
from .cluster import AksCluster
from .container_logs import ContainerLogs
from .data_lake import DataLake
from .gpu_node_pool import GpuNodePool
from .interconnect import VpnEndpoint
from .network import Network
from .registry import ContainerRegistry
from .workload_identity import WorkloadIdentity

CAPABILITIES = Capabilities(
    # Kubernetes docs, "Service" > "Internal load balancer" (AKS: the azure-load-balancer-internal annotation).
    internal_load_balancer_annotations={"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
    # AKS installs the NVIDIA driver on GPU pools (gpuProfile.driver Install): components/azure/gpu_node_pool.py.
    gpu_driver_preinstalled=True,
    # Istio's CNI chart needs no platform value on AKS (only GKE, k3s, MicroK8s and the like do).
    istio_cni_platform=None,
)


def build_foundation(parent: pulumi.Resource, name: str, spec: PlatformSpec, cell: AzureCellSpec) -> CellFoundation:
    """Stand up one Azure cell of ``spec`` under ``parent``; resources are named ``<name>-...``."""
    tags = azure_tags(conventions.tags(spec.environment, cell.name, spec.tags))
    prefix = conventions.physical_name(spec.environment, cell.name, max_length=40)
    protected = spec.protected
    provider = Provider(f"{name}-azure", location=cell.region, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)

    group = resources.ResourceGroup(
        f"{name}-group",
        resource_group_name=prefix,
        location=cell.region,
        tags=tags,
        opts=data_options(parent, protected, provider=provider),
    )
    common = {"resource_group_name": group.name, "tags": tags}
    joined = cell.name in plan_vpn(spec.cells)  # a VPN joins this cell to others: scope what they may reach
    network = Network(f"{name}-network", {**common, "spec": cell.network, "firewall": joined}, opts=opts)
    # The cell's Log Analytics workspace (docs/design.md, "Audit", "Observability" > Logs): who touched the cluster and
    # the lake's blobs, and the containers' logs, which AKS's monitoring add-on ships there (container_logs.py).
    audit = AuditLogs(
        f"{name}-audit",
        {
            **common,
            "workspace_name": conventions.physical_name(prefix, "audit", max_length=63),
            "retention_days": cell.audit.retention(protected),
            "protected": protected,
        },
        opts=opts,
    )
    cluster = AksCluster(
        f"{name}-cluster",
        {
            **common,
            "name": prefix,
            "spec": cell.cluster,
            "network": cell.network,
            "node_subnet_id": network.node_subnet_id,
            "container_insights_workspace_id": audit.workspace_id if cell.logs.enabled else None,
            "protected": protected,
        },
        opts=opts,
    )
    pools = [
        GpuNodePool(
            f"{name}-{pool.name}",
            {
                "pool": pool,
                "cluster": cluster,
                "tags": tags,
            },
            opts=opts,
        )
        for pool in cell.gpu_pools
    ]
    lake = DataLake(
        f"{name}-lake",
        {
            **common,
            "spec": cell.data_lake,
            "name_prefix": prefix,
            "allowed_subnet_ids": [network.node_subnet_id],
            "protected": protected,
        },
        opts=opts,
    )
    audit.audit_cluster(cluster.cluster_id)
    audit.audit_lake(lake.account_id)
    if cell.logs.enabled:
        ContainerLogs(
            f"{name}-container-logs",
            {
                **common,
                "region": cell.region,
                "cluster_name": prefix,
                "cluster_id": cluster.cluster_id,
                "workspace_id": audit.workspace_id,
            },
            opts=opts,
        )
    registry = ContainerRegistry(
        f"{name}-registry", {**common, "spec": cell.registry, "name_prefix": prefix, "protected": protected}, opts=opts
    )
    # The nodes pull the serving image as the cluster's kubelet identity.
    kubelet_pull = registry.grant_pull("kubelet", cluster.kubelet_object_id)

    def bind_model_reader(namespace: str, service_account: str) -> IdentityBinding:
        identity = WorkloadIdentity(
            f"{name}-{service_account}-identity",
            {
                **common,
                "cluster": cluster,
                "namespace": namespace,
                "service_account": service_account,
                "identity_name": conventions.physical_name(prefix, service_account, "reader", max_length=128),
            },
            opts=opts,
        )
        lake.grant_read(identity, MODELS_ZONE)
        return identity.binding

    def vpn_endpoint(vpn_parent: pulumi.Resource, vpn_name: str, plan: VpnPlan) -> VpnEndpoint:
        return VpnEndpoint(
            vpn_name,
            {
                **common,
                "plan": plan,
                "resource_group_id": group.id,
                "vnet_name": network.vnet_name,
                "gateway_subnet_cidr": cell.network.gateway_subnet,
                "after": [network.node_subnet],
                "security_group_name": network.security_group_name,
            },
            opts=pulumi.ResourceOptions(parent=vpn_parent, provider=provider),
        )

    return CellFoundation(
        cloud="azure",
        kubernetes_provider=cluster.provider,
        kubernetes_version=cell.cluster.kubernetes_version,
        cluster_name=cluster.name,
        registry=Registry(repository_url=registry.repository_url, credentials=registry.credentials),
        # A cell without the models zone serves no models (the platform spec refuses models without it).
        models_uri=lake.uris.get(MODELS_ZONE, pulumi.Output.from_input("")),
        bind_model_reader=bind_model_reader,
        capabilities=CAPABILITIES,
        # AKS scales the GPU pools itself (no autoscaler to install); pods need the pull grant before they start.
        ready=[cluster, *pools, kubelet_pull],
        # The server of AKS's user credentials (the private FQDN when private, which only this VNet resolves); over
        # the VPN, the public FQDN, which public DNS resolves to the private endpoint's address in the node subnet.
        api_endpoint=pulumi.Output.concat("https://", cluster.public_fqdn, ":443") if joined else cluster.api_endpoint,
        certificate_authority=cluster.certificate_authority,
        vpn_endpoint=vpn_endpoint,
        # No in-cluster collector: AKS's monitoring add-on ships the containers' logs (ContainerLogs above).
        bind_log_writer=None,
    )
