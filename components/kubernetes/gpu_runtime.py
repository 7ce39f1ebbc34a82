"""NVIDIA GPU runtime: the GPU operator, set up per cloud so GPU nodes advertise ``nvidia.com/gpu``.

EKS (AL2023 NVIDIA AMIs), AKS and GKE ship the NVIDIA driver and container toolkit on their GPU nodes, so the
operator runs with both disabled there and only adds the device plugin, GPU feature discovery and the DCGM exporter;
on an existing (on-prem) cluster it installs driver and toolkit too (docs/design.md, "GPU drivers"). The DCGM
exporter runs either way (it reads the GPUs through the driver, wherever that came from), and the cell's Prometheus
scrapes it through the ServiceMonitor the operator makes for it.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict

import pulumi
from pydantic import Field

from lepton_infra.conventions import GPU_TAINT
from lepton_infra.spec import ComponentArgs, GpuRuntimeSpec, parse_model

from ._helm import namespace, release

TOKEN = "lepton:kubernetes:NvidiaGpuRuntime"
NAMESPACE = "gpu-operator"
CHART = "gpu-operator"
CHART_REPO = "https://helm.ngc.nvidia.com/nvidia"


class NvidiaGpuRuntimeArgsDict(TypedDict, total=False):
    """NvidiaGpuRuntimeArgs as a plain dict: the same keys, validated the same way."""

    spec: GpuRuntimeSpec | Mapping[str, Any]
    driver_preinstalled: Required[bool]
    device_plugin_preinstalled: bool
    service_monitor_labels: Mapping[str, str] | None


class NvidiaGpuRuntimeArgs(ComponentArgs):
    spec: GpuRuntimeSpec = GpuRuntimeSpec()
    driver_preinstalled: bool = Field(
        description="The GPU nodes' image ships the NVIDIA driver and container toolkit (EKS NVIDIA AMIs, AKS, GKE): "
        "the operator then leaves both off. False on existing clusters, where the operator installs them."
    )
    device_plugin_preinstalled: bool = Field(
        False, description="The cloud runs its own NVIDIA device plugin (GKE): the operator's then stays off."
    )
    service_monitor_labels: dict[str, str] | None = Field(
        None, description="The labels the cell's Prometheus selects ServiceMonitors by (Monitoring): the DCGM "
        "exporter is then scraped through a ServiceMonitor the operator makes. None when the cell has no Prometheus.",
    )


# DCGM's series name the GPU's node only by its Hostname label; the GPU dashboard (dashboards.py) finds a GPU's pool
# by joining on `node` with kube_node_labels, so the ServiceMonitor copies the exporter pod's node name (Prometheus's
# kubernetes_sd pod meta label) onto every series as `node`, as the chart's values.yaml sample relabeling does for
# `instance`. honorLabels keeps the exporter's pod/namespace/container labels, which name the pod using the GPU,
# instead of renaming them exported_* under the exporter pod's own.
DCGM_NODE_RELABELING = {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}


def dcgm_exporter_values(service_monitor_labels: dict[str, str] | None) -> dict[str, Any]:
    """values.yaml dcgmExporter: the exporter always runs; it is scraped when the cell has a Prometheus to do it."""
    if service_monitor_labels is None:
        return {"enabled": True}
    return {
        "enabled": True,
        "serviceMonitor": {
            "enabled": True,
            "honorLabels": True,
            "additionalLabels": dict(service_monitor_labels),
            "relabelings": [dict(DCGM_NODE_RELABELING)],
        },
    }


def operator_values(
    driver_preinstalled: bool, device_plugin_preinstalled: bool = False, service_monitor_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """gpu-operator chart values (keys from the chart's values.yaml, github.com/NVIDIA/gpu-operator)."""
    node_software = not driver_preinstalled
    tolerations = [GPU_TAINT.toleration()]
    return {
        "driver": {"enabled": node_software},
        "toolkit": {"enabled": node_software},
        "devicePlugin": {"enabled": not device_plugin_preinstalled},
        "gfd": {"enabled": True},
        "dcgmExporter": dcgm_exporter_values(service_monitor_labels),
        # NFD labels nodes with their PCI devices; the operator schedules its operands by those labels.
        "nfd": {"enabled": True},
        "node-feature-discovery": {"worker": {"tolerations": tolerations}},
        # Every operand DaemonSet must land on the tainted GPU nodes of the contract.
        "daemonsets": {"tolerations": tolerations},
    }


class NvidiaGpuRuntime(pulumi.ComponentResource):
    """The NVIDIA GPU operator in namespace gpu-operator (PSA privileged: its operands need host access)."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    release_status: pulumi.Output[str]

    def __init__(
        self, name: str, args: NvidiaGpuRuntimeArgs | NvidiaGpuRuntimeArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(NvidiaGpuRuntimeArgs, args)
        super().__init__(TOKEN, name, None, opts)

        # NVIDIA's install guide labels the namespace privileged: driver/toolkit/device-plugin pods use host paths.
        ns = namespace(self, NAMESPACE, {"pod-security.kubernetes.io/enforce": "privileged"})
        operator = release(
            self,
            CHART,
            chart=CHART,
            repo=CHART_REPO,
            version=args.spec.gpu_operator_version,
            namespace=ns.metadata.name,
            values=operator_values(args.driver_preinstalled, args.device_plugin_preinstalled, args.service_monitor_labels),
        )

        self.namespace = ns.metadata.name
        self.release_name = operator.name
        self.release_status = operator.status.status
        self.register_outputs(
            {"namespace": self.namespace, "release_name": self.release_name, "release_status": self.release_status}
        )
