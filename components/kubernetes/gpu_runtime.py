"""NVIDIA GPU runtime: the GPU operator, set up per cloud so GPU nodes advertise ``nvidia.com/gpu``.

EKS (AL2023 NVIDIA AMIs), AKS and GKE ship the NVIDIA driver and container toolkit on their GPU nodes, so the
operator runs with both disabled there and only adds the device plugin, GPU feature discovery and the DCGM exporter;
on an existing (on-prem) cluster it installs driver and toolkit too (docs/design.md, "GPU drivers"). The DCGM
exporter runs either way (it reads the GPUs through the driver, wherever that came from), and the cell's Prometheus
scrapes it through the ServiceMonitor the operator makes for it.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field

from lepton_infra.conventions import GPU_TAINT
from lepton_infra.spec import ComponentArgs, GpuRuntimeSpec, parse_model

from ._helm import namespace, release
from .monitoring import MONITOR_LABELS

TOKEN = "lepton:kubernetes:NvidiaGpuRuntime"
NAMESPACE = "gpu-operator"
CHART = "gpu-operator"
CHART_REPO = "https://helm.ngc.nvidia.com/nvidia"


class NvidiaGpuRuntimeArgs(ComponentArgs):
    spec: GpuRuntimeSpec = GpuRuntimeSpec()
    driver_preinstalled: bool = Field(
        description="The GPU nodes' image ships the NVIDIA driver and container toolkit (EKS NVIDIA AMIs, AKS, GKE): "
        "the operator then leaves both off. False on existing clusters, where the operator installs them."
    )
    device_plugin_preinstalled: bool = Field(
        False, description="The cloud runs its own NVIDIA device plugin (GKE): the operator's then stays off."
    )


def operator_values(driver_preinstalled: bool, device_plugin_preinstalled: bool = False) -> dict[str, Any]:
    """gpu-operator chart values (keys from the chart's values.yaml, github.com/NVIDIA/gpu-operator)."""
    node_software = not driver_preinstalled
    tolerations = [GPU_TAINT.toleration()]
    return {
        "driver": {"enabled": node_software},
        "toolkit": {"enabled": node_software},
        "devicePlugin": {"enabled": not device_plugin_preinstalled},
        "gfd": {"enabled": True},
        # The operator makes a ServiceMonitor for the exporter (values.yaml dcgmExporter.serviceMonitor), labelled so
        # the cell's Prometheus selects it (monitoring.py): GPU utilisation, memory, power and XID errors per GPU.
        "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": True, "additionalLabels": dict(MONITOR_LABELS)}},
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

    def __init__(self, name: str, args: NvidiaGpuRuntimeArgs | dict, opts: pulumi.ResourceOptions | None = None):
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
            values=operator_values(args.driver_preinstalled, args.device_plugin_preinstalled),
        )

        self.namespace = ns.metadata.name
        self.release_name = operator.name
        self.release_status = operator.status.status
        self.register_outputs(
            {"namespace": self.namespace, "release_name": self.release_name, "release_status": self.release_status}
        )
