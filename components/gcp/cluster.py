"""A GKE Standard cluster secured by default, with a system node pool and a Kubernetes provider for it.

- Identity: Workload Identity Federation for GKE (pool ``<project>.svc.id.goog``); nodes run as a dedicated service
  account holding only roles/container.defaultNodeServiceAccount (CIS GKE Benchmark 5.2.1).
- Network: VPC-native on the cell's subnet; private nodes always; the control plane's public endpoint only when the
  endpoint is not private, and then only for the master authorized networks (which a public endpoint requires,
  as AWS's public_access_cidrs). Private nodes reach the control plane through Private Service Connect.
- Secrets: application-layer encryption of etcd secrets with a Cloud KMS key (``database_encryption``) that the
  GKE service agent may use (https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets).
- Upgrades: a release channel; shielded nodes; Dataplane V2 (network policy enforced); no legacy ABAC, no client
  certificate; deletion protection when protected.
- The default node pool is removed; the system pool replaces it.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_gcp.container as container
import pulumi_gcp.projects as projects
import pulumi_gcp.serviceaccount as serviceaccount
import pulumi_kubernetes as k8s
from pydantic import Field

from lepton_infra.kubeconfig import exec_user, single_cluster
from lepton_infra.conventions import POOL_LABEL
from lepton_infra.spec import Cidr, ClusterArgs, PulumiInput, parse_model
from lepton_infra.spec.gcp import GcpLabels, GkeClusterSpec

from .._resource_options import data_options
from . import _nodes, _project
from ._kms import customer_managed_key
from ._names import CLUSTER_NAME_MAX, account_id, rfc1035
from .network import PODS_RANGE, SERVICES_RANGE

TOKEN = "lepton:gcp:GkeCluster"
NODE_ROLE = "roles/container.defaultNodeServiceAccount"
# Control-plane and workload logs to Cloud Logging (the EKS control-plane log types, as GKE names them).
LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]
SYSTEM_POOL_LABELS = {POOL_LABEL: "system"}
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
_AUTH_PLUGIN_HINT = (
    "Install gke-gcloud-auth-plugin: "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


class GkeClusterArgsDict(TypedDict, total=False):
    """GkeClusterArgs as a plain dict: the same keys, validated the same way."""

    protected: bool
    name: str | None
    spec: GkeClusterSpec | Mapping[str, Any]
    network: Required[PulumiInput[str]]
    subnetwork: Required[PulumiInput[str]]
    pods_range_name: str
    services_range_name: str
    peer_cidrs: Sequence[Cidr]
    labels: GcpLabels


class GkeClusterArgs(ClusterArgs):
    name: str | None = Field(
        None,
        pattern=rf"^[a-z]([-a-z0-9]{{0,{CLUSTER_NAME_MAX - 2}}}[a-z0-9])?$",
        description="Physical cluster name (GKE: at most 40 characters, a letter first). Default: <stack>-<name>.",
    )
    spec: GkeClusterSpec = Field(default_factory=GkeClusterSpec)
    protected: bool = Field(
        False, description="Deletion protection, and protect + retain the secrets key; the endpoint is private unless spec says."
    )
    network: PulumiInput[str] = Field(description="The VPC (id or self link).")
    subnetwork: PulumiInput[str] = Field(description="The nodes' subnet (id or self link) with the pods and services ranges.")
    pods_range_name: str = PODS_RANGE
    services_range_name: str = SERVICES_RANGE
    labels: GcpLabels = Field(default_factory=dict)
    peer_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="The other cells' ranges, joined by VPN: authorized on the control plane's private endpoint, which "
        "their istiod watches (docs/design.md, \"Mesh\" > \"Connectivity\").",
    )


def kubeconfig(name: str, endpoint: str, ca_data: str) -> str:
    """A JSON kubeconfig that authenticates through gke-gcloud-auth-plugin (client.authentication.k8s.io/v1beta1)."""
    return single_cluster(
        name,
        {"server": f"https://{endpoint}", "certificate-authority-data": ca_data},
        exec_user(AUTH_PLUGIN, installHint=_AUTH_PLUGIN_HINT, provideClusterInfo=True),
    )


def authorized_networks(cidrs: list[str]) -> dict[str, Any]:
    """Master authorized networks: only these CIDRs (and the nodes), never Google Cloud's public IPs at large, and
    enforced on the private endpoint too."""
    return {
        "cidr_blocks": [{"cidr_block": cidr, "display_name": f"authorized-{i}"} for i, cidr in enumerate(cidrs)],
        "gcp_public_cidrs_access_enabled": False,
        "private_endpoint_enforcement_enabled": True,
    }


class GkeCluster(pulumi.ComponentResource):
    """GKE control plane, node service account, secrets key, system node pool and a k8s Provider."""

    name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    location: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    private_api_endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    workload_pool: pulumi.Output[str]
    node_service_account_email: pulumi.Output[str]
    kms_key_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_zones: list[str]
    provider: k8s.Provider

    def __init__(
        self, name: str, args: GkeClusterArgs | GkeClusterArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(GkeClusterArgs, args)
        super().__init__(TOKEN, name, None, opts)
        cluster_name = args.name or rfc1035(pulumi.get_stack(), name, max_length=CLUSTER_NAME_MAX)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        config = _project.client_config(self)

        nodes_account = serviceaccount.Account(
            f"{name}-nodes",
            account_id=account_id(cluster_name, "nodes"),
            display_name=f"Nodes of GKE {cluster_name}",
            opts=child,
        )
        node_role = projects.IAMMember(
            f"{name}-nodes-role", project=config.project, role=NODE_ROLE, member=nodes_account.member, opts=child
        )
        key, key_grants = customer_managed_key(
            self,
            f"{name}-secrets",
            location=config.region,
            labels=args.labels,
            opts=data_options(self, args.protected),
            users={"gke": _project.service_agent(self, config.project, _project.GKE_SERVICE_AGENT)},
        )
        self.workload_pool = pulumi.Output.concat(config.project, ".svc.id.goog")
        self.node_zones = list(spec.node_zones)
        node_defaults = _nodes.node_config(
            service_account=nodes_account.email,
            machine_type=spec.system_pool.machine_type,
            disk_size_gb=spec.system_pool.disk_size_gb,
            labels=SYSTEM_POOL_LABELS,
            resource_labels=args.labels,
        )
        cluster = container.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            location=config.region,
            node_locations=self.node_zones or None,
            min_master_version=spec.kubernetes_version,
            release_channel={"channel": spec.release_channel},
            network=args.network,
            subnetwork=args.subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": args.pods_range_name,
                "services_secondary_range_name": args.services_range_name,
            },
            datapath_provider="ADVANCED_DATAPATH",
            private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": args.private_endpoint},
            master_authorized_networks_config=authorized_networks([*spec.public_access_cidrs, *args.peer_cidrs]),
            workload_identity_config={"workload_pool": self.workload_pool},
            database_encryption={"state": "ENCRYPTED", "key_name": key.id},
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            logging_config={"enable_components": LOG_COMPONENTS},
            deletion_protection=args.protected,
            # GKE cannot create a cluster without a node pool: it creates the default one, with the secure node
            # defaults, and removes it at once; the system pool below replaces it.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=node_defaults,
            resource_labels=args.labels,
            opts=pulumi.ResourceOptions.merge(
                data_options(self, args.protected),
                pulumi.ResourceOptions(depends_on=[*key_grants, node_role], ignore_changes=["nodeConfig", "initialNodeCount"]),
            ),
        )
        system = container.NodePool(
            f"{name}-system",
            name="system",
            cluster=cluster.id,
            location=cluster.location,
            node_locations=self.node_zones or None,
            # Per zone: one node in each zone at first, then the autoscaler keeps the pool's total in [min, max].
            initial_node_count=1,
            autoscaling={
                "total_min_node_count": spec.system_pool.min_size,
                "total_max_node_count": spec.system_pool.max_size,
                "location_policy": "BALANCED",
            },
            management=_nodes.MANAGEMENT,
            upgrade_settings=_nodes.UPGRADE_SETTINGS,
            node_config=node_defaults,
            opts=child,
        )

        self.name = cluster.name
        self.cluster_id = cluster.id
        self.location = cluster.location
        self.endpoint = cluster.endpoint
        # The GKE API's endpoint is an IP address; masterAuth.clusterCaCertificate is base64 PEM (kubeconfig's form).
        self.api_endpoint = pulumi.Output.concat("https://", cluster.endpoint)
        # The control plane's private endpoint (an address in the cell's subnet, public endpoint or not): what the
        # other cells reach over the VPN.
        self.private_api_endpoint = pulumi.Output.concat(
            "https://", cluster.private_cluster_config.apply(lambda config: config.private_endpoint if config else "")
        )
        self.certificate_authority = cluster.master_auth.cluster_ca_certificate
        self.node_service_account_email = nodes_account.email
        self.kms_key_id = key.id
        self.system_pool = system
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda a: kubeconfig(*a)
            )
        )
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)
        self.register_outputs(
            {
                "name": self.name,
                "cluster_id": self.cluster_id,
                "location": self.location,
                "endpoint": self.endpoint,
                "api_endpoint": self.api_endpoint,
                "workload_pool": self.workload_pool,
                "node_service_account_email": self.node_service_account_email,
                "kms_key_id": self.kms_key_id,
                "kubeconfig": self.kubeconfig,
            }
        )
