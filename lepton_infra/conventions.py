"""The hybrid scheduling contract and naming rules every cloud shares (docs/design.md, "Cross-cloud conventions").

One workload spec runs on any cell because every GPU node carries the same taint and labels, whatever the cloud's
own spelling of them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, Mapping

ACCELERATOR_LABEL = "lepton.ai/accelerator"
POOL_LABEL = "lepton.ai/pool"
CAPACITY_LABEL = "lepton.ai/capacity"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"

ENVIRONMENT_TAG = "lepton.ai/environment"
CELL_TAG = "lepton.ai/cell"
MANAGED_BY_TAG = "lepton.ai/managed-by"

Capacity = Literal["spot", "on-demand"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: TaintEffect

    def as_kubernetes(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value, "effect": self.effect}

    def as_eks(self) -> dict[str, str]:
        """The EKS node group API spells effects NO_SCHEDULE / PREFER_NO_SCHEDULE / NO_EXECUTE."""
        return {"key": self.key, "value": self.value, "effect": eks_taint_effect(self.effect)}

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint(key=GPU_RESOURCE, value="present", effect="NoSchedule")
# AKS taints every spot node so (AKS docs, "Add a spot node pool"); it cannot be turned off. Model pods tolerate it on
# every cloud: a toleration for a taint no node has changes nothing, and one model spec stays one pod spec everywhere.
AKS_SPOT_TAINT = Taint(key="kubernetes.azure.com/scalesetpriority", value="spot", effect="NoSchedule")
# What every GPU workload tolerates, on any cloud.
GPU_WORKLOAD_TOLERATIONS = (GPU_TAINT.toleration(), AKS_SPOT_TAINT.toleration())

_EKS_EFFECTS: Mapping[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}


def eks_taint_effect(effect: str) -> str:
    """Kubernetes effect -> EKS API effect (as pulumi-eks converts them)."""
    try:
        return _EKS_EFFECTS[effect]
    except KeyError:
        raise ValueError(f"taint effect {effect!r} is not one of {', '.join(_EKS_EFFECTS)}") from None


def gpu_node_labels(pool: str, accelerator: str, capacity: Capacity) -> dict[str, str]:
    """Labels every GPU node carries on every cloud (cloud labels such as gke-accelerator are kept alongside)."""
    return {
        ACCELERATOR_LABEL: accelerator,
        POOL_LABEL: pool,
        GPU_PRESENT_LABEL: "true",
        CAPACITY_LABEL: capacity,
    }


def gpu_node_selector(accelerator: str) -> dict[str, str]:
    return {ACCELERATOR_LABEL: accelerator}


def tags(environment: str, cell: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Cloud resource tags: who owns a resource and where it belongs, plus the user's own tags."""
    return {ENVIRONMENT_TAG: environment, CELL_TAG: cell, MANAGED_BY_TAG: "lepton-infra", **(extra or {})}


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns_label(value: str) -> bool:
    """DNS-1123 label: what Kubernetes requires of names and what every cloud accepts in its resource names."""
    return len(value) <= 63 and bool(_DNS_LABEL.match(value))


def physical_name(*parts: str, max_length: int = 63) -> str:
    """A deterministic, DNS-safe name from parts; shortened with a stable hash suffix when over ``max_length``.

    Used where a cloud needs a globally unique or length-limited physical name (S3 buckets: 63, IAM roles: 64).
    """
    name = "-".join(p.strip("-").lower() for p in parts if p)
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9].rstrip('-')}-{digest}"


def stack_scoped_name(stack: str, name: str, max_length: int = 63) -> str:
    """``<stack>-<name>``, DNS-safe: the default physical name of what a component creates account-wide.

    IAM roles and S3 buckets share one namespace per account (or partition), so a component used in the dev and the
    prod stack of one account must not name them alike; Pulumi stack names may hold '_' and '.', which many clouds'
    names refuse.
    """
    return physical_name(re.sub(r"[^a-z0-9-]+", "-", f"{stack}-{name}".lower()).strip("-"), max_length=max_length)
