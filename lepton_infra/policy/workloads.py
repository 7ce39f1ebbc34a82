"""Workloads the platform emits (Deployments, DaemonSets, StatefulSets): hardened containers, and GPU pods that ask
for GPUs and tolerate the GPU taint (docs/design.md, "Model serving", "Cross-cloud conventions").

Helm releases are out of scope: their charts render their workloads at apply time, so neither the offline plan nor
CrossGuard sees those pod specs (the upstream chart values are checked in tests/upstream/ instead).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..conventions import ACCELERATOR_LABEL, GPU_PRESENT_LABEL, GPU_RESOURCE, GPU_TAINT
from . import _types as t
from ._model import Resource, Rule, StackContext, get, items

HARDENING = "container-hardening"
GPU = "gpu-scheduling"


def pod_spec(resource: Resource) -> Any:
    return get(resource.inputs, "spec", "template", "spec") if resource.type in t.WORKLOADS else None


def containers(pod: Any) -> list[Any]:
    return items(get(pod, "initContainers")) + items(get(pod, "containers"))


def check_hardening(resource: Resource, stack: StackContext) -> Iterator[str]:
    pod = pod_spec(resource)
    if pod is None:
        return
    pod_security = get(pod, "securityContext")
    for container in containers(pod):
        name = f"{resource.name}/{get(container, 'name')}"
        security = get(container, "securityContext")
        non_root = get(security, "runAsNonRoot")
        if non_root is None:
            non_root = get(pod_security, "runAsNonRoot")
        user = get(security, "runAsUser")
        if user is None:
            user = get(pod_security, "runAsUser")
        if non_root is not True or user == 0:
            yield f"container {name} may run as root; right: runAsNonRoot true (pod or container) and a non-zero runAsUser"
        if get(security, "readOnlyRootFilesystem") is not True:
            yield f"container {name} has a writable root filesystem; right: securityContext.readOnlyRootFilesystem true (emptyDir for scratch)"
        for kind in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if not get(container, "resources", kind, r)]
            if missing:
                yield f"container {name} sets no {kind} for {', '.join(missing)}; right: resources.{kind}.cpu and .memory"


def _tolerates_gpu_taint(pod: Any) -> bool:
    for toleration in items(get(pod, "tolerations")):
        key, effect = get(toleration, "key"), get(toleration, "effect")
        if key not in (GPU_TAINT.key, None) or effect not in (GPU_TAINT.effect, None):
            continue
        if get(toleration, "operator") == "Exists" or get(toleration, "value") == GPU_TAINT.value:
            return True
    return False


def check_gpu(resource: Resource, stack: StackContext) -> Iterator[str]:
    pod = pod_spec(resource)
    if pod is None:
        return
    asks = [c for c in containers(pod) if get(c, "resources", "limits", GPU_RESOURCE) not in (None, "0", 0)]
    selects_gpu_node = get(pod, "nodeSelector", GPU_PRESENT_LABEL) == "true" or (
        get(pod, "nodeSelector", ACCELERATOR_LABEL) not in (None, "cpu")
    )
    tolerates = _tolerates_gpu_taint(pod)
    if not (asks or selects_gpu_node or tolerates):
        return  # not a GPU workload
    taint = f"{GPU_TAINT.key}={GPU_TAINT.value}:{GPU_TAINT.effect}"
    if not asks:
        yield (
            f"workload {resource.name} targets GPU nodes (a GPU node selector or the GPU toleration) but requests no "
            f"{GPU_RESOURCE}; right: resources.limits[{GPU_RESOURCE}] on its container, or neither selector nor toleration"
        )
    if asks and not tolerates:
        yield f"workload {resource.name} requests {GPU_RESOURCE} but does not tolerate the GPU taint {taint}; right: a toleration for it"


HARDENING_RULE = Rule(
    HARDENING,
    "Containers of the platform's workloads run as non-root with a read-only root filesystem and CPU and memory "
    "requests and limits.",
    "resource",
    check_hardening,
    not_covered=("workloads rendered by Helm releases (charts render them at apply time)",),
)
GPU_RULE = Rule(
    GPU,
    f"GPU workloads request {GPU_RESOURCE} and tolerate the GPU taint; workloads that request none stay off GPU nodes.",
    "resource",
    check_gpu,
    not_covered=("workloads rendered by Helm releases (charts render them at apply time)",),
)
