"""AWS components: network, EKS cluster, GPU node pools, cluster autoscaler, data lake (and its data-access trail),
registry, workload identity."""

from .cluster import EksCluster, EksClusterArgs
from .cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from .data_access_trail import DataAccessTrail, DataAccessTrailArgs
from .data_lake import DataLake, DataLakeArgs
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .workload_identity import WorkloadIdentity, WorkloadIdentityArgs

__all__ = [
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "DataAccessTrail",
    "DataAccessTrailArgs",
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
