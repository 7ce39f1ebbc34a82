"""GCP components: network, GKE cluster, GPU node pools, data lake, registry, workload identity, audit logs, and the
cell."""

from ._names import labels_from_tags
from .audit_logs import AuditLogs, AuditLogsArgs
from .cluster import GkeCluster, GkeClusterArgs
from .data_lake import DataLake, DataLakeArgs
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .workload_identity import WorkloadIdentity, WorkloadIdentityArgs

__all__ = [
    "AuditLogs",
    "AuditLogsArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "DataLake",
    "DataLakeArgs",
    "GkeCluster",
    "GkeClusterArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "Network",
    "NetworkArgs",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
    "labels_from_tags",
]
