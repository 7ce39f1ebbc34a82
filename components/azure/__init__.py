"""Azure components: network, AKS cluster, GPU agent pools, ADLS Gen2 data lake, registry, workload identity, audit
logs, and the cell foundation (cell.py) the platform builds an Azure cell from."""

from .audit_logs import AuditLogs, AuditLogsArgs
from .cluster import AksCluster, AksClusterArgs
from .data_lake import DataLake, DataLakeArgs
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .workload_identity import WorkloadIdentity, WorkloadIdentityArgs

__all__ = [
    "AksCluster",
    "AksClusterArgs",
    "AuditLogs",
    "AuditLogsArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "DataLake",
    "DataLakeArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "Network",
    "NetworkArgs",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
]
