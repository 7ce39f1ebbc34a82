"""Components of a cell on an existing Kubernetes cluster: the in-cluster S3 lake (SeaweedFS); the foundation in cell.py."""

from .lake import InClusterLake, InClusterLakeArgs

__all__ = ["InClusterLake", "InClusterLakeArgs"]
