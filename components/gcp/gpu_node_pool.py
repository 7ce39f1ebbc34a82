"""A GKE GPU node pool that carries the hybrid scheduling contract and scales from zero.

- Machine type and accelerator type come from the catalog (GKE needs both: an accelerator-optimized machine type
  such as a3-highgpu-8g, or an N1 with attached T4s).
- GKE installs the NVIDIA driver itself when ``gpu_driver_installation_config.gpu_driver_version`` is DEFAULT or
  LATEST (https://cloud.google.com/kubernetes-engine/docs/how-to/gpus#create-gpu-pool-auto-drivers), so the GPU
  operator runs without its driver and toolkit here.
- The contract's taint is declared even though GKE adds the same one to GPU pools of clusters that also have non-GPU
  pools: declared, it holds in every case (Google's cluster-toolkit gke-node-pool module does the same).
- GKE's cluster autoscaler scales a pool from zero by itself: it reads the labels, taints and accelerators from the
  pool's node template, so no node-template tags are needed (unlike EKS).
"""

from __future__ import annotations

from typing import Any, Mapping, Required, Sequence, TypedDict
import pulumi
import pulumi_gcp.container as container
from pydantic import Field

from lepton_infra import catalog
from lepton_infra.conventions import GPU_TAINT, eks_taint_effect, gpu_node_labels
from lepton_infra.spec import ComponentArgs, GpuPoolSpec, parse_model
from lepton_infra.spec.gcp import GcpLabels, GpuDriverVersion

from . import _nodes
from ._names import CLUSTER_NAME_MAX, rfc1035
from .cluster import GkeCluster

TOKEN = "lepton:gcp:GpuNodePool"
# Spot: ANY puts nodes where capacity is (fewer preemptions); on demand: BALANCED spreads them over the zones
# (NodePoolAutoscaling.location_policy in the GKE API).
_LOCATION_POLICY = {"spot": "ANY", "on-demand": "BALANCED"}


class GpuNodePoolArgsDict(TypedDict, total=False):
    """GpuNodePoolArgs as a plain dict: the same keys, validated the same way."""

    pool: Required[GpuPoolSpec | Mapping[str, Any]]
    cluster: Required[GkeCluster]
    node_zones: Sequence[str] | None
    gpu_driver_version: GpuDriverVersion
    labels: GcpLabels


class GpuNodePoolArgs(ComponentArgs):
    pool: GpuPoolSpec
    cluster: GkeCluster = Field(description="The cluster the pool joins: its id, location, node service account, zones.")
    node_zones: list[str] | None = Field(None, description="Zones for the nodes; default: the cluster's node zones.")
    gpu_driver_version: GpuDriverVersion = "DEFAULT"
    labels: GcpLabels = Field(default_factory=dict)


def gke_taint() -> dict[str, str]:
    """The contract's taint as the GKE API spells it (NO_SCHEDULE, as EKS does)."""
    return {"key": GPU_TAINT.key, "value": GPU_TAINT.value, "effect": eks_taint_effect(GPU_TAINT.effect)}


class GpuNodePool(pulumi.ComponentResource):
    """A GKE node pool of one catalog machine type with its GPUs, the contract's taint and labels, from zero."""

    node_pool_id: pulumi.Output[str]
    machine: catalog.GcpMachine
    labels: dict[str, str]
    taints: list[dict[str, str]]

    def __init__(
        self, name: str, args: GpuNodePoolArgs | GpuNodePoolArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(GpuNodePoolArgs, args)
        args.pool.require_offered_on("gcp")
        super().__init__(TOKEN, name, None, opts)
        pool = args.pool
        self.machine = catalog.machine_type(pool.accelerator, "gcp", pool.gpus_per_node)
        self.labels = gpu_node_labels(pool.name, pool.accelerator, pool.capacity)
        self.taints = [gke_taint()]

        accelerator = {
            "type": self.machine.accelerator_type,
            "count": pool.gpus_per_node,
            "gpu_driver_installation_config": {"gpu_driver_version": args.gpu_driver_version},
        }
        cluster = args.cluster
        zones = cluster.node_zones if args.node_zones is None else args.node_zones
        node_pool = container.NodePool(
            name,
            name=rfc1035(pool.name, max_length=CLUSTER_NAME_MAX),
            cluster=cluster.cluster_id,
            location=cluster.location,
            node_locations=zones or None,
            # No initial nodes: the autoscaler brings them for pending GPU pods, up to the pool's total max
            # (the GKE autoscaler owns the size; desired_size has no GKE counterpart).
            autoscaling={
                "total_min_node_count": pool.min_size,
                "total_max_node_count": pool.max_size,
                "location_policy": _LOCATION_POLICY[pool.capacity],
            },
            management=_nodes.MANAGEMENT,
            upgrade_settings=_nodes.UPGRADE_SETTINGS,
            node_config=_nodes.node_config(
                service_account=cluster.node_service_account_email,
                machine_type=self.machine.machine_type,
                disk_size_gb=pool.disk_size_gb,
                labels=self.labels,
                resource_labels=args.labels,
                guest_accelerators=[accelerator],
                taints=self.taints,
                spot=pool.capacity == "spot",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.node_pool_id = node_pool.id
        self.register_outputs(
            {
                "node_pool_id": self.node_pool_id,
                "machine_type": self.machine.machine_type,
                "accelerator_type": self.machine.accelerator_type,
                "labels": self.labels,
                "taints": self.taints,
            }
        )
