"""The cell's metrics: kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana, node exporter,
kube-state-metrics) from the prometheus-community chart, one release per cell in namespace ``monitoring``.

Prometheus labels every series it sends elsewhere with its cell and cloud (``externalLabels``), keeps its samples on
a persistent volume for the spec's retention, and runs as the chart's non-root user. It selects the PodMonitors that
carry ``release: <this release>`` in every namespace: the models' PodMonitors (model_deployment.py) carry it. KEDA
(keda.py) reads the models' serving metrics from its Service (``prometheus_address``).
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict

import pulumi
from pydantic import Field

from lepton_infra.conventions import POOL_LABEL
from lepton_infra.spec import ComponentArgs, DnsLabel, MonitoringSpec, parse_model

from ._helm import namespace, release

TOKEN = "lepton:kubernetes:Monitoring"
NAMESPACE = "monitoring"
CHART = "kube-prometheus-stack"
CHART_REPO = "https://prometheus-community.github.io/helm-charts"
RELEASE = "kube-prometheus-stack"
# The chart names its objects "<fullname>-<component>" (templates/_helpers.tpl, "kube-prometheus-stack.fullname":
# fullnameOverride truncated to 26 characters): set here, so the Prometheus Service's name is ours, not a rule's.
FULLNAME = "kube-prometheus-stack"
# The Prometheus Service: templates/prometheus/service.yaml names it "<fullname>-prometheus"; values.yaml
# prometheus.service.port defaults to 9090 (set below all the same).
PROMETHEUS_SERVICE = f"{FULLNAME}-prometheus"
PROMETHEUS_PORT = 9090
PROMETHEUS_ADDRESS = f"http://{PROMETHEUS_SERVICE}.{NAMESPACE}.svc:{PROMETHEUS_PORT}"
# What a PodMonitor must carry to be scraped: the selector set in the values below (the one the chart itself builds
# from its release name when podMonitorSelectorNilUsesHelmValues is true, here stated rather than implied).
POD_MONITOR_LABELS = {"release": RELEASE}
# What a PrometheusRule must carry to be loaded (alert_rules.py): the ruleSelector set in the values below, stated as the
# PodMonitors' is (the chart's default, ruleSelectorNilUsesHelmValues, builds the same from the release's name).
RULE_LABELS = {"release": RELEASE}
# What a ServiceMonitor must carry to be scraped: values.yaml prometheus.prometheusSpec.serviceMonitorSelector is {}
# with serviceMonitorSelectorNilUsesHelmValues true, so the chart selects its release's label (the DCGM exporter's
# ServiceMonitor, gpu_runtime.py, carries it).
SERVICE_MONITOR_LABELS = {"release": RELEASE}
# The Grafana sidecar loads every ConfigMap with this label as a dashboard (values.yaml grafana.sidecar.dashboards:
# label grafana_dashboard, labelValue "1"; stated in the values below so the two cannot drift). It looks only in
# namespace monitoring, where dashboards.py puts the platform's, instead of the chart's default ALL namespaces:
# whoever may write a ConfigMap anywhere must not be able to add dashboards (and their queries) to Grafana.
GRAFANA_DASHBOARD_LABEL, GRAFANA_DASHBOARD_LABEL_VALUE = "grafana_dashboard", "1"
GRAFANA_DASHBOARD_LABELS = {GRAFANA_DASHBOARD_LABEL: GRAFANA_DASHBOARD_LABEL_VALUE}
# kube-state-metrics copies the nodes' pool label onto kube_node_labels (as label_lepton_ai_pool: its docs,
# docs/metrics/cluster/node-metrics.md, "--metric-labels-allowlist"), which the GPU dashboard joins the DCGM series
# with on `node`. The subchart's values.yaml (kube-state-metrics 8.4.0, vendored in tests/upstream) has the key.
NODE_LABELS_EXPORTED = [f"nodes=[{POOL_LABEL}]"]
# values.yaml prometheus.prometheusSpec.securityContext: the chart's own non-root default, stated so it cannot drift.
PROMETHEUS_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 2000,
    "fsGroup": 2000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


class MonitoringArgsDict(TypedDict, total=False):
    """MonitoringArgs as a plain dict: the same keys, validated the same way."""

    spec: MonitoringSpec | Mapping[str, Any]
    cell: Required[DnsLabel]
    cloud: Required[DnsLabel]


class MonitoringArgs(ComponentArgs):
    spec: MonitoringSpec = MonitoringSpec()
    cell: DnsLabel = Field(description="The cell's name: Prometheus's `cell` external label.")
    cloud: DnsLabel = Field(description="The cell's cloud (aws, azure, gcp, existing): Prometheus's `cloud` external label.")


def prometheus_values(spec: MonitoringSpec, cell: str, cloud: str) -> dict[str, Any]:
    """kube-prometheus-stack values (keys from the chart's values.yaml at 88.5.3, tests/upstream checks them)."""
    return {
        "fullnameOverride": FULLNAME,
        "prometheus": {
            "service": {"port": PROMETHEUS_PORT},
            "prometheusSpec": {
                "externalLabels": {"cell": cell, "cloud": cloud},
                "retention": spec.retention,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": spec.storage_size}}}
                    }
                },
                "securityContext": dict(PROMETHEUS_SECURITY_CONTEXT),
                "podMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelector": {"matchLabels": dict(POD_MONITOR_LABELS)},
                # values.yaml: {} selects PodMonitors in every namespace (nil would be Prometheus's own only).
                "podMonitorNamespaceSelector": {},
                "ruleSelectorNilUsesHelmValues": False,
                "ruleSelector": {"matchLabels": dict(RULE_LABELS)},
            },
        },
        "grafana": {
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": GRAFANA_DASHBOARD_LABEL,
                    "labelValue": GRAFANA_DASHBOARD_LABEL_VALUE,
                    "searchNamespace": NAMESPACE,
                }
            }
        },
        "kube-state-metrics": {"metricLabelsAllowlist": list(NODE_LABELS_EXPORTED)},
    }


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack in namespace ``monitoring`` (PSA privileged: the node exporter reads the host)."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    release_status: pulumi.Output[str]
    prometheus_address: pulumi.Output[str]

    def __init__(
        self, name: str, args: MonitoringArgs | MonitoringArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(MonitoringArgs, args)
        super().__init__(TOKEN, name, None, opts)

        # The chart's node exporter DaemonSet uses hostNetwork, hostPID and host paths: the baseline standard refuses it.
        ns = namespace(self, NAMESPACE, {"pod-security.kubernetes.io/enforce": "privileged"})
        stack = release(
            self,
            RELEASE,
            chart=CHART,
            repo=CHART_REPO,
            version=args.spec.chart_version,
            namespace=ns.metadata.name,
            values=prometheus_values(args.spec, args.cell, args.cloud),
        )

        self.namespace = ns.metadata.name
        self.release_name = stack.name
        self.release_status = stack.status.status
        self.prometheus_address = pulumi.Output.from_input(PROMETHEUS_ADDRESS)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "release_name": self.release_name,
                "release_status": self.release_status,
                "prometheus_address": self.prometheus_address,
            }
        )
