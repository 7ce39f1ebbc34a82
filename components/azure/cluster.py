"""An AKS cluster secured by default, with its system pool and a Kubernetes provider for it.

- Identity: OIDC issuer and workload identity on (pods federate to Entra identities, no secrets); the control plane
  runs as a user-assigned identity that holds Network Contributor on the node subnet only (BYO subnet).
- Access: Entra ID authentication with Azure RBAC for Kubernetes authorization, local accounts off (no static
  admin kubeconfig exists); with no admin groups named, the deploying identity is made cluster admin on this cluster
  only, as EKS bootstraps its creator.
- Network: Azure CNI overlay with the Cilium dataplane and network policy (pods outside the VNet, policies enforced
  by eBPF: AKS docs, "Azure CNI Powered by Cilium"); the API server is private when the spec says (by default in
  protected environments), otherwise reachable only from ``public_access_cidrs``.
- Upkeep: an auto-upgrade channel ('patch' by default: the pinned minor with its patches) and node OS upgrades.
- Disks: encryption at host on every node (OS and temp disks, caches) unless the spec opts out. AKS's etcd is
  encrypted at rest by the platform; the KMS plugin with a Key Vault key is not used (a private vault would need
  API server VNet integration).

The kubeconfig authenticates through ``kubelogin get-token --login azurecli`` (the Azure CLI session of whoever runs
Pulumi, as the EKS kubeconfig uses ``aws eks get-token``).
"""

from __future__ import annotations

import base64
from typing import Any, Mapping, Required, TypedDict

import pulumi
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field

from lepton_infra.kubeconfig import exec_user, single_cluster
from lepton_infra.conventions import POOL_LABEL, stack_scoped_name
from lepton_infra.spec import ClusterArgs, PulumiInput, parse_model
from lepton_infra.spec.azure import SYSTEM_POOL_NAME, AksClusterSpec, AzureNetworkSpec, AzureTags

from .._resource_options import data_options
from . import _roles

TOKEN = "lepton:azure:AksCluster"
# AKS cluster names: 1-63 letters, digits, '-' and '_'.
CLUSTER_NAME_MAX = 63
SYSTEM_POOL_LABELS = {POOL_LABEL: SYSTEM_POOL_NAME}
# The server application of AKS's Entra integration: tokens for the API server are issued to it (the same in every
# tenant; kubelogin docs, "Using kubelogin with AKS").
AKS_AAD_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
OPEN_TO_INTERNET = "0.0.0.0/0"


class AksClusterArgsDict(TypedDict, total=False):
    """AksClusterArgs as a plain dict: the same keys, validated the same way."""

    protected: bool
    name: str | None
    spec: AksClusterSpec | Mapping[str, Any]
    network: AzureNetworkSpec | Mapping[str, Any]
    resource_group_name: Required[PulumiInput[str]]
    node_subnet_id: Required[PulumiInput[str]]
    container_insights_workspace_id: PulumiInput[str] | None
    tags: AzureTags


class AksClusterArgs(ClusterArgs):
    name: str | None = Field(
        None,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$",
        description="Physical cluster name (also its DNS prefix). Default: <stack>-<resource name>.",
    )
    spec: AksClusterSpec = Field(default_factory=AksClusterSpec)
    network: AzureNetworkSpec = Field(default_factory=AzureNetworkSpec, description="Pod and service ranges.")
    resource_group_name: PulumiInput[str]
    node_subnet_id: PulumiInput[str] = Field(description="The subnet the nodes join (Network.node_subnet_id).")
    container_insights_workspace_id: PulumiInput[str] | None = Field(
        None,
        description="A Log Analytics workspace AKS's monitoring add-on ships the containers' logs to, as the cluster's "
        "managed identity (components/azure/container_logs.py says what it collects); None: no add-on.",
    )
    tags: AzureTags = Field(default_factory=dict)


def api_server_access(private: bool, public_access_cidrs: list[str]) -> dict[str, Any]:
    """Private cluster, or public with authorized IP ranges. AKS reads an empty list as 'everyone', so the explicit
    0.0.0.0/0 opt-out is sent as no list; a private cluster takes no ranges (AKS refuses them there)."""
    if private:
        # Kept explicit (AKS's default): the public FQDN resolves, in Azure public DNS, to the private endpoint's
        # address, which is how the other cells' istiod find this API server over the VPN (AKS docs, "Create a private
        # AKS cluster": a private FQDN in a private DNS zone only this VNet resolves, and an additional public FQDN).
        return {"enable_private_cluster": True, "enable_private_cluster_public_fqdn": True}
    ranges = [c for c in public_access_cidrs if c != OPEN_TO_INTERNET]
    return {"enable_private_cluster": False, **({"authorized_ip_ranges": ranges} if ranges else {})}


def network_profile(net: AzureNetworkSpec) -> dict[str, Any]:
    return {
        "network_plugin": "azure",
        "network_plugin_mode": "overlay",
        "network_dataplane": "cilium",
        "network_policy": "cilium",
        "pod_cidr": net.pod_cidr,
        "service_cidr": net.service_cidr,
        "dns_service_ip": net.dns_service_ip,
        "load_balancer_sku": "standard",
        "outbound_type": "loadBalancer",
    }


def addon_profiles(container_insights_workspace_id: pulumi.Input[str] | None) -> dict[str, Any] | None:
    """Container Insights (addon ``omsagent``) with managed identity auth: ``useAADAuth`` is the string "true"
    (microsoft/Docker-Provider scripts/onboarding/aks/onboarding-msi-bicep/existingClusterOnboarding.bicep)."""
    if container_insights_workspace_id is None:
        return None
    config = {"logAnalyticsWorkspaceResourceID": container_insights_workspace_id, "useAADAuth": "true"}
    return {"omsagent": {"enabled": True, "config": config}}


def system_pool_profile(spec: AksClusterSpec, subnet_id: pulumi.Input[str]) -> dict[str, Any]:
    pool = spec.system_pool
    return {
        "name": SYSTEM_POOL_NAME,
        "mode": "System",
        "os_type": "Linux",
        "os_sku": "Ubuntu",
        "vm_size": pool.vm_size,
        "os_disk_size_gb": pool.disk_size_gb,
        "enable_auto_scaling": True,
        "min_count": pool.min_size,
        "max_count": pool.max_size,
        "count": pool.desired,
        "enable_encryption_at_host": spec.encryption_at_host,
        "enable_node_public_ip": False,
        "vnet_subnet_id": subnet_id,
        "orchestrator_version": spec.kubernetes_version,
        "node_labels": SYSTEM_POOL_LABELS,
        "type": "VirtualMachineScaleSets",
    }


def api_server(user_kubeconfig_b64: str) -> tuple[str, str]:
    """(server URL, base64 PEM CA) of the cluster AKS's user credentials name (the kubeconfig's only cluster)."""
    (cluster,) = yaml.safe_load(base64.b64decode(user_kubeconfig_b64))["clusters"]
    return cluster["cluster"]["server"], cluster["cluster"]["certificate-authority-data"]


def kubeconfig(user_kubeconfig_b64: str) -> str:
    """A JSON kubeconfig for the cluster AKS's user credentials name, authenticating with the Azure CLI's session.

    AKS returns an exec kubeconfig that logs in by device code (interactive); the server and CA are kept, the user
    becomes ``kubelogin get-token --login azurecli`` (non-interactive, like ``aws eks get-token``).
    """
    (cluster,) = yaml.safe_load(base64.b64decode(user_kubeconfig_b64))["clusters"]
    return single_cluster(
        cluster["name"],
        cluster["cluster"],
        exec_user("kubelogin", ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_APP_ID]),
    )


class AksCluster(pulumi.ComponentResource):
    """AKS control plane with its system pool, the control plane's identity and a Kubernetes provider."""

    name: pulumi.Output[str]
    resource_group_name: pulumi.Input[str]
    node_subnet_id: pulumi.Input[str]
    kubernetes_version: str
    encryption_at_host: bool
    cluster_id: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    public_fqdn: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    node_resource_group: pulumi.Output[str]
    control_plane_principal_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self, name: str, args: AksClusterArgs | AksClusterArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(AksClusterArgs, args)
        super().__init__(TOKEN, name, None, opts)
        cluster_name = args.name or stack_scoped_name(pulumi.get_stack(), name, max_length=CLUSTER_NAME_MAX)
        spec, child = args.spec, pulumi.ResourceOptions(parent=self)
        client = _roles.client_config(self)

        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_name_=f"{cluster_name}-control-plane",
            resource_group_name=args.resource_group_name,
            tags=args.tags,
            opts=child,
        )
        subnet_access = _roles.assign(
            self,
            f"{name}-subnet-network-contributor",
            role=_roles.NETWORK_CONTRIBUTOR,
            principal_id=control_plane.principal_id,
            scope=args.node_subnet_id,
            subscription_id=client.subscription_id,
        )
        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=cluster_name,
            resource_group_name=args.resource_group_name,
            dns_prefix=cluster_name,
            kubernetes_version=spec.kubernetes_version,
            identity={"type": "UserAssigned", "user_assigned_identities": [control_plane.id]},
            enable_rbac=True,
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "tenant_id": client.tenant_id,
                "admin_group_object_ids": list(spec.admin_group_object_ids),
            },
            disable_local_accounts=True,
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            network_profile=network_profile(args.network),
            api_server_access_profile=api_server_access(args.private_endpoint, list(spec.public_access_cidrs)),
            auto_upgrade_profile={
                "upgrade_channel": spec.upgrade_channel,
                "node_os_upgrade_channel": spec.node_os_upgrade_channel,
            },
            sku={"name": "Base", "tier": spec.sku_tier},
            agent_pool_profiles=[system_pool_profile(spec, args.node_subnet_id)],
            addon_profiles=addon_profiles(args.container_insights_workspace_id),
            tags=args.tags,
            # The cluster holds the workloads' state (secrets, volumes' claims): kept in protected environments.
            opts=data_options(
                self,
                args.protected,
                depends_on=[subnet_access],
                # AKS's autoscaler owns the system pool's current size once the cluster exists.
                ignore_changes=["agentPoolProfiles[0].count"],
            ),
        )
        admins = [cluster]
        if not spec.admin_group_object_ids:
            admins.append(
                _roles.assign(
                    self,
                    f"{name}-deployer-cluster-admin",
                    role=_roles.AKS_RBAC_CLUSTER_ADMIN,
                    principal_id=client.object_id,
                    scope=cluster.id,
                    subscription_id=client.subscription_id,
                    principal_type=spec.deployer_principal_type,
                )
            )

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.name = cluster.name
        # What its agent pools join with (GpuNodePool takes the cluster, not these one by one).
        self.resource_group_name = args.resource_group_name
        self.node_subnet_id = args.node_subnet_id
        self.kubernetes_version = spec.kubernetes_version
        self.encryption_at_host = spec.encryption_at_host
        self.cluster_id = cluster.id
        self.fqdn = cluster.private_fqdn if args.private_endpoint else cluster.fqdn
        # What resolves from anywhere: the public FQDN (of a private cluster: to its private endpoint's address).
        self.public_fqdn = cluster.fqdn
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url)
        self.kubelet_object_id = cluster.identity_profile.apply(lambda p: p["kubeletidentity"].object_id)
        self.node_resource_group = cluster.node_resource_group
        self.control_plane_principal_id = control_plane.principal_id
        self.kubeconfig = pulumi.Output.secret(credentials.kubeconfigs.apply(lambda k: kubeconfig(k[0].value)))
        server = credentials.kubeconfigs.apply(lambda k: api_server(k[0].value))
        self.api_endpoint = server.apply(lambda s: s[0])
        self.certificate_authority = server.apply(lambda s: s[1])
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=admins)
        )
        self.register_outputs(
            {
                "name": self.name,
                "cluster_id": self.cluster_id,
                "fqdn": self.fqdn,
                "api_endpoint": self.api_endpoint,
                "oidc_issuer_url": self.oidc_issuer_url,
                "kubelet_object_id": self.kubelet_object_id,
                "node_resource_group": self.node_resource_group,
                "kubeconfig": self.kubeconfig,
            }
        )
