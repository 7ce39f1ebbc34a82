"""AWS components: network, EKS cluster, GPU node pools, data lake, container registry, workload identity."""

from .cluster import EksCluster, EksClusterArgs
from .data_lake import DataLake, DataLakeArgs
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .workload_identity import WorkloadIdentity, WorkloadIdentityArgs

__all__ = [
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "DataLake",
    "DataLakeArgs",
    "EksCluster",
    "EksClusterArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "Network",
    "NetworkArgs",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
]
