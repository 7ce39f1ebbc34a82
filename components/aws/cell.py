"""The AWS cell foundation: what an AWS region gives the cloud-neutral layer of a cell (lepton_infra.cell_contract)."""

from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_aws as aws

from lepton_infra import conventions
from lepton_infra.cell_contract import Capabilities, CellFoundation, IdentityBinding, LogDestination, Registry
from lepton_infra.spec import MODELS_ZONE, AwsCellSpec, PlatformSpec
from lepton_infra.spec.interconnect import VpnPlan

from .cluster import EksCluster
from .cluster_autoscaler import ClusterAutoscaler
from .container_logs import ContainerLogs
from .data_access_trail import DataAccessTrail
from .data_lake import DataLake
from .gpu_node_pool import GpuNodePool
from .interconnect import VpnEndpoint
from .network import Network
from .registry import ContainerRegistry
from .workload_identity import WorkloadIdentity

CAPABILITIES = Capabilities(
    # Kubernetes docs, "Service" > "Internal load balancer" (the AWS cloud provider / AWS Load Balancer Controller).
    internal_load_balancer_annotations={"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
    # The EKS AL2023 NVIDIA AMI (amiType AL2023_x86_64_NVIDIA) ships the driver and the container toolkit.
    gpu_driver_preinstalled=True,
)


def build_foundation(parent: pulumi.Resource, name: str, spec: PlatformSpec, cell: AwsCellSpec) -> CellFoundation:
    """The AWS part of a cell: VPC, EKS with GPU node groups and the cluster autoscaler, S3 lake, ECR repository."""
    tags = conventions.tags(spec.environment, cell.name, spec.tags)
    prefix = conventions.physical_name(spec.environment, cell.name, max_length=40)
    audit_days = cell.audit.retention(spec.protected)
    provider = aws.Provider(f"{name}-aws", region=cell.region, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)

    network = Network(f"{name}-network", {"spec": cell.network, "cluster_name": prefix, "tags": tags, "protected": spec.protected}, opts=opts)
    cluster = EksCluster(
        f"{name}-cluster",
        {
            "name": prefix,
            "spec": cell.cluster,
            "subnet_ids": network.private_subnet_ids,
            "vpc_id": network.vpc_id,
            "protected": spec.protected,
            "log_retention_days": audit_days,
            "tags": tags,
        },
        opts=opts,
    )
    pools = [
        GpuNodePool(
            f"{name}-{pool.name}",
            {"pool": pool, "cluster": cluster, "tags": tags},
            opts=opts,
        )
        for pool in cell.gpu_pools
    ]
    # Scales the node groups for pending pods (GPU pools from zero); installs once the system nodes exist.
    autoscaler = ClusterAutoscaler(
        f"{name}-cluster-autoscaler",
        {
            "cluster": cluster,
            # The role keeps the name earlier releases gave it (its component's name), so stacks update in place.
            "role_name": conventions.physical_name(f"{name}-cluster-autoscaler-identity", max_length=64),
            "tags": tags,
        },
        opts=pulumi.ResourceOptions(
            parent=parent, providers={"aws": provider, "kubernetes": cluster.provider}, depends_on=[cluster, *pools]
        ),
    )
    backup_provider = None
    if cell.data_lake.backup:
        backup_provider = aws.Provider(
            f"{name}-aws-backup", region=cell.data_lake.backup.region, opts=pulumi.ResourceOptions(parent=parent)
        )
    lake = DataLake(
        f"{name}-lake",
        {
            "spec": cell.data_lake,
            "name_prefix": prefix,
            "protected": spec.protected,
            "tags": tags,
            "backup_provider": backup_provider,
        },
        opts=opts,
    )
    # Who read and wrote the lake's objects: CloudTrail data events, under a key of their own (docs/design.md, "Audit").
    DataAccessTrail(
        f"{name}-lake-audit",
        {
            "bucket_arns": list(lake.bucket_arns.values()),
            "retention_days": audit_days,
            "name_prefix": prefix,
            "protected": spec.protected,
            "tags": tags,
        },
        opts=opts,
    )
    registry = ContainerRegistry(
        f"{name}-registry", {"spec": cell.registry, "name_prefix": prefix, "protected": spec.protected, "tags": tags}, opts=opts
    )

    def bind_model_reader(namespace: str, service_account: str) -> IdentityBinding:
        identity_name = f"{name}-{service_account}-identity"
        identity = WorkloadIdentity(
            identity_name,
            {
                "cluster": cluster,
                "namespace": namespace,
                "service_account": service_account,
                "role_name": conventions.physical_name(identity_name, max_length=64),
                "tags": tags,
            },
            opts=opts,
        )
        lake.grant_read(identity, MODELS_ZONE)
        # The AWS SDKs in the serving image find the region here (S3 needs it for the lake's buckets).
        return replace(identity.binding, env={"AWS_REGION": cell.region, "AWS_DEFAULT_REGION": cell.region})

    def vpn_endpoint(vpn_parent: pulumi.Resource, vpn_name: str, plan: VpnPlan) -> VpnEndpoint:
        return VpnEndpoint(
            vpn_name,
            {
                "plan": plan,
                "vpc_id": network.vpc_id,
                "route_table_ids": network.private_route_table_ids,
                "security_group_id": cluster.cluster_security_group_id,
                "tags": tags,
            },
            opts=pulumi.ResourceOptions(parent=vpn_parent, provider=provider),
        )

    def bind_log_writer(namespace: str, service_account: str) -> LogDestination:
        logs = ContainerLogs(
            f"{name}-container-logs",
            {
                "cluster": cluster,
                "namespace": namespace,
                "service_account": service_account,
                "log_group_name": f"/lepton/{spec.environment}/{cell.name}/containers",
                "retention_days": cell.logs.retention_days,
                "region": cell.region,
                "role_name": conventions.physical_name(f"{name}-log-collector-identity", max_length=64),
                "protected": spec.protected,
                "tags": tags,
            },
            opts=opts,
        )
        return logs.destination

    return CellFoundation(
        cloud="aws",
        kubernetes_provider=cluster.provider,
        kubernetes_version=cell.cluster.kubernetes_version,
        cluster_name=cluster.name,
        registry=Registry(repository_url=registry.repository_url, credentials=registry.credentials),
        models_uri=pulumi.Output.concat("s3://", lake.buckets[MODELS_ZONE]),
        bind_model_reader=bind_model_reader,
        capabilities=CAPABILITIES,
        # Models need GPU nodes, which only the autoscaler brings (pools scale from min_size, 0 in dev).
        ready=[cluster, *pools, autoscaler],
        api_endpoint=cluster.endpoint,  # EKS DescribeCluster's endpoint: https://<id>.<region>.eks.amazonaws.com
        certificate_authority=cluster.certificate_authority_data,  # certificateAuthority.data: base64 PEM
        vpn_endpoint=vpn_endpoint,
        bind_log_writer=bind_log_writer,
    )
