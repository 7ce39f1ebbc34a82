"""A GPU agent pool on AKS that carries the hybrid scheduling contract and scales from zero.

AKS installs the NVIDIA driver on GPU pools (``gpuProfile.driver: Install``, the default, set here explicitly), so
the GPU operator runs without its driver and toolkit on this cloud (docs/design.md, "GPU drivers"). AKS labels its
GPU nodes ``kubernetes.azure.com/accelerator=nvidia`` by itself; that label is left to AKS (labels under
kubernetes.azure.com are AKS's to set), and the contract's lepton.ai labels are added beside it.

AKS's own cluster autoscaler scales the pool between ``min_size`` and ``max_size``, from zero, with no node-template
tags: it reads the pool's labels and taints from the pool itself.

Spot pools: Azure evicts with policy Delete (a deallocated spot VM would still count against quota) and bids up to
the on-demand price (-1). AKS taints every spot node ``kubernetes.azure.com/scalesetpriority=spot:NoSchedule``;
the taint is declared here too so the pool's declared taints are the ones the nodes carry (AKS docs, "Add an Azure
Spot node pool": https://learn.microsoft.com/azure/aks/spot-node-pool).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Required, TypedDict, runtime_checkable

import pulumi
import pulumi_azure_native.containerservice as containerservice
from pydantic import Field, model_validator

from lepton_infra import catalog
from lepton_infra.conventions import AKS_SPOT_TAINT, GPU_TAINT, Taint, gpu_node_labels
from lepton_infra.spec import ComponentArgs, GpuPoolSpec, SpecIssues, parse_model
from lepton_infra.spec.azure import AzureTags, aks_pool_name, aks_pool_name_issue

TOKEN = "lepton:azure:GpuNodePool"
SPOT_TAINT = AKS_SPOT_TAINT
SPOT_MAX_PRICE = -1  # pay up to the on-demand price; eviction then happens for capacity only
_PRIORITIES = {"spot": "Spot", "on-demand": "Regular"}


@runtime_checkable
class PoolCluster(Protocol):
    """What an agent pool joins: the cluster's name, resource group, node subnet, version and host encryption.
    An AksCluster is one; ExistingAksCluster names a cluster made elsewhere."""

    @property
    def name(self) -> pulumi.Input[str]: ...

    @property
    def resource_group_name(self) -> pulumi.Input[str]: ...

    @property
    def node_subnet_id(self) -> pulumi.Input[str]: ...

    @property
    def kubernetes_version(self) -> str: ...

    @property
    def encryption_at_host(self) -> bool: ...


@dataclass(frozen=True)
class ExistingAksCluster:
    """An AKS cluster made elsewhere, as a pool needs it (its pools' VMs encrypt at host unless it says not)."""

    name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    node_subnet_id: pulumi.Input[str]
    kubernetes_version: str
    encryption_at_host: bool = True


class GpuNodePoolArgsDict(TypedDict, total=False):
    """GpuNodePoolArgs as a plain dict: the same keys, validated the same way."""

    pool: Required[GpuPoolSpec | Mapping[str, Any]]
    cluster: Required[PoolCluster]
    tags: AzureTags


class GpuNodePoolArgs(ComponentArgs):
    pool: GpuPoolSpec
    cluster: PoolCluster = Field(
        description="The cluster the pool joins: an AksCluster, or ExistingAksCluster(name, resource group, node "
        "subnet, version)."
    )
    tags: AzureTags = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aks_name(self) -> "GpuNodePoolArgs":
        if problem := aks_pool_name_issue(self.pool.name):
            raise SpecIssues([(("pool", "name"), problem)])
        return self


def taint_string(taint: Taint) -> str:
    """AKS spells a node taint key=value:Effect."""
    return f"{taint.key}={taint.value}:{taint.effect}"


def node_taints(pool: GpuPoolSpec) -> list[str]:
    return [taint_string(GPU_TAINT)] + ([taint_string(SPOT_TAINT)] if pool.capacity == "spot" else [])


def capacity_settings(pool: GpuPoolSpec) -> dict:
    if pool.capacity != "spot":
        return {"scale_set_priority": _PRIORITIES[pool.capacity]}
    return {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": SPOT_MAX_PRICE}


class GpuNodePool(pulumi.ComponentResource):
    """An AKS user agent pool of one catalog VM size with the contract's taint and labels."""

    agent_pool_name: pulumi.Output[str]
    vm_size: str
    labels: dict[str, str]
    taints: list[str]

    def __init__(
        self, name: str, args: GpuNodePoolArgs | GpuNodePoolArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(GpuNodePoolArgs, args)
        args.pool.require_offered_on("azure")
        super().__init__(TOKEN, name, None, opts)
        pool = args.pool
        self.vm_size = catalog.machine_type(pool.accelerator, "azure", pool.gpus_per_node)
        self.labels = gpu_node_labels(pool.name, pool.accelerator, pool.capacity)
        self.taints = node_taints(pool)

        cluster = args.cluster
        agent_pool = containerservice.AgentPool(
            name,
            agent_pool_name=aks_pool_name(pool.name),
            resource_name_=cluster.name,
            resource_group_name=cluster.resource_group_name,
            mode="User",
            os_type="Linux",
            os_sku="Ubuntu",
            vm_size=self.vm_size,
            os_disk_size_gb=pool.disk_size_gb,
            gpu_profile={"driver": "Install"},
            enable_auto_scaling=True,
            min_count=pool.min_size,
            max_count=pool.max_size,
            count=pool.desired,
            enable_encryption_at_host=cluster.encryption_at_host,
            enable_node_public_ip=False,
            vnet_subnet_id=cluster.node_subnet_id,
            orchestrator_version=cluster.kubernetes_version,
            node_labels=self.labels,
            node_taints=self.taints,
            type="VirtualMachineScaleSets",
            tags=args.tags,
            **capacity_settings(pool),
            # AKS's autoscaler owns the current size once the pool exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )
        self.agent_pool_name = agent_pool.name
        self.register_outputs(
            {"agent_pool_name": self.agent_pool_name, "vm_size": self.vm_size, "labels": self.labels, "taints": self.taints}
        )
