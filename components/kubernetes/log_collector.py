"""The cell's container logs: the OpenTelemetry Collector (contrib distribution) from its official chart as a
DaemonSet in namespace ``logging``, one release per cell, shipping every container's log lines to where the cell's
foundation says (``CellFoundation.bind_log_writer``, a :class:`~lepton_infra.cell_contract.LogDestination`).

The chart's ``presets.logsCollection`` adds the filelog receiver on /var/log/pods (CRI lines parsed, multi-line
entries recombined) and the host mounts it needs; a transform processor parses bodies that are JSON objects (serving's
log lines, with their request_id) into attributes; every record carries ``cell`` and ``cloud``. The exporter and the
identity it writes as are the destination's: this layer never asks which cloud it runs on.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict

import pulumi
from pydantic import Field, InstanceOf

from lepton_infra.cell_contract import LogDestination
from lepton_infra.spec import ComponentArgs, DnsLabel, LogsSpec, parse_model

from ._helm import namespace, release

TOKEN = "lepton:kubernetes:LogCollector"
NAMESPACE = "logging"
SERVICE_ACCOUNT = "log-collector"  # the identity the destination binds (IRSA, GKE workload identity)
CHART = "opentelemetry-collector"
CHART_REPO = "https://open-telemetry.github.io/opentelemetry-helm-charts"
RELEASE = "log-collector"
# values.yaml image.repository is "" (the chart requires one) and its comment says the core image needs
# `command.name: otelcol`: the contrib image, whose binary is otelcol-contrib, has the cloud exporters. The tag
# defaults to the chart's appVersion (0.158.0 for chart 0.170.0).
IMAGE = "otel/opentelemetry-collector-contrib"
COMMAND = "otelcol-contrib"
# The ports of the chart's default receivers (not in this configuration), which it would open on every node (hostPort):
# a log shipper listens for nothing.
UNUSED_PORTS = ("otlp", "otlp-http", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
JSON_BODY = "transform/json_body"
CELL_ATTRIBUTES = "resource/cell"
# Non-root: the contrib image's own user (10001), in group 0, which may read the container log files the runtime
# writes root-owned and group-readable (0640). The chart turns the collector into root only for storeCheckpoints,
# left off: a restarted collector starts at the end of each file again and may miss what was written meanwhile.
SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 0,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


class LogCollectorArgsDict(TypedDict, total=False):
    """LogCollectorArgs as a plain dict: the same keys, validated the same way."""

    spec: LogsSpec | Mapping[str, Any]
    cell: Required[DnsLabel]
    cloud: Required[DnsLabel]
    destination: Required[LogDestination]


class LogCollectorArgs(ComponentArgs):
    spec: LogsSpec = LogsSpec()
    cell: DnsLabel = Field(description="The cell's name: the `cell` attribute of every record.")
    cloud: DnsLabel = Field(description="The cell's cloud: the `cloud` attribute of every record.")
    destination: InstanceOf[LogDestination] = Field(description="Where the logs go (the foundation's bind_log_writer).")


def collector_config(destination: LogDestination, cell: str, cloud: str) -> dict[str, Any]:
    """The whole collector configuration, as the chart's ``alternateConfig``: used instead of ``config`` and not
    merged with its defaults (values.yaml), whose OTLP, Jaeger, Zipkin and Prometheus receivers a log shipper does
    not want; Helm removes a default only with a null, which a Pulumi input cannot carry. The preset still adds its
    filelog receiver to the logs pipeline (values.yaml: presets are injected into alternateConfig as into config)."""
    return {
        # values.yaml: "The health_check extension is mandatory for this chart" (the probes read it).
        "extensions": {"health_check": {"endpoint": "${env:MY_POD_IP}:13133"}},
        "receivers": {},
        "processors": {
            # The chart's own defaults for these two (values.yaml config.processors), against the pod's memory limit.
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {},
            CELL_ATTRIBUTES: {"attributes": [
                {"key": "cell", "value": cell, "action": "upsert"},
                {"key": "cloud", "value": cloud, "action": "upsert"},
            ]},
            # OTTL (contrib transform processor): a body that is a JSON object becomes attributes; others stay text.
            JSON_BODY: {
                "error_mode": "ignore",
                "log_statements": [{
                    "context": "log",
                    "conditions": ['IsMatch(body, "^[ ]*[{]")'],
                    "statements": ['merge_maps(attributes, ParseJSON(body), "upsert")'],
                }],
            },
        },
        "exporters": {destination.exporter: dict(destination.config)},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                # The preset appends its filelog receiver to this list.
                "logs": {
                    "receivers": [],
                    "processors": ["memory_limiter", CELL_ATTRIBUTES, JSON_BODY, "batch"],
                    "exporters": [destination.exporter],
                },
            },
        },
    }


def collector_values(destination: LogDestination, cell: str, cloud: str) -> dict[str, Any]:
    """opentelemetry-collector chart values (keys from the chart's values.yaml at 0.170.0, tests/upstream checks them)."""
    binding = destination.binding
    return {
        "mode": "daemonset",
        "fullnameOverride": RELEASE,
        "image": {"repository": IMAGE},
        "command": {"name": COMMAND},
        "presets": {"logsCollection": {"enabled": True, "includeCollectorLogs": False, "storeCheckpoints": False}},
        "alternateConfig": collector_config(destination, cell, cloud),
        "ports": {name: {"enabled": False} for name in UNUSED_PORTS},
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": binding.service_account_annotations if binding else {},
        },
        "podLabels": dict(binding.pod_labels) if binding else {},
        "extraEnvs": [{"name": key, "value": value} for key, value in (binding.env.items() if binding else ())],
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 0,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": dict(SECURITY_CONTEXT),
        "resources": RESOURCES,
        # Every node, GPU nodes (tainted) included: the models' logs are there.
        "tolerations": [{"operator": "Exists"}],
    }


class LogCollector(pulumi.ComponentResource):
    """The OpenTelemetry Collector DaemonSet shipping the cell's container logs (namespace ``logging``)."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    release_status: pulumi.Output[str]
    destination: pulumi.Output[str]

    def __init__(self, name: str, args: LogCollectorArgs | LogCollectorArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(LogCollectorArgs, args)
        super().__init__(TOKEN, name, None, opts)

        # The filelog preset mounts /var/log/pods from the host (hostPath): the baseline standard refuses it.
        ns = namespace(self, NAMESPACE, {"pod-security.kubernetes.io/enforce": "privileged"})
        collector = release(
            self,
            RELEASE,
            chart=CHART,
            repo=CHART_REPO,
            version=args.spec.chart_version,
            namespace=ns.metadata.name,
            values=collector_values(args.destination, args.cell, args.cloud),
        )

        self.namespace = ns.metadata.name
        self.release_name = collector.name
        self.release_status = collector.status.status
        self.destination = pulumi.Output.from_input(args.destination.description)
        self.register_outputs({
            "namespace": self.namespace,
            "release_name": self.release_name,
            "release_status": self.release_status,
            "destination": self.destination,
        })
