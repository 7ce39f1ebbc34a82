"""The cell's metrics: kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana, node exporter,
kube-state-metrics) from the prometheus-community chart, one release per cell in namespace ``monitoring``.

Prometheus labels every series it sends elsewhere with its cell and cloud (``externalLabels``), keeps its samples on
a persistent volume for the spec's retention, and runs as the chart's non-root user. It selects the PodMonitors and
ServiceMonitors that carry ``release: <this release>`` in every namespace: the models' PodMonitors
(model_deployment.py), the mesh's (every meshed workload's Envoy stats and istiod, as Istio's prometheus-operator
sample has them) and the GPU operator's DCGM exporter ServiceMonitor (gpu_runtime.py). KEDA (keda.py) reads the
models' serving metrics from its Service (``prometheus_address``).

The global view (docs/design.md, "Observability"): a cell either receives every other cell's series (its Prometheus
with the remote-write receiver on, meshed for inbound mTLS on the global port) or sends its own, to the receiving cell
over the mesh (Prometheus gets a sidecar that captures only the outbound global port; the receiver's captures only
that port inbound and passes it to Prometheus on localhost) or to an external endpoint
(credentials in a Secret of this namespace).
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Required, TypedDict

import pulumi
import pulumi_kubernetes.core.v1 as core
from pulumi_kubernetes.apiextensions import CustomResource
from pydantic import Field, model_validator

from lepton_infra.conventions import POOL_LABEL
from lepton_infra.spec import (
    ComponentArgs,
    DnsLabel,
    GlobalMetricsCellSpec,
    GlobalMetricsRemoteWriteSpec,
    MonitoringSpec,
    PulumiInput,
    SpecIssues,
    parse_model,
)

from ._helm import child_name, namespace, release

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
# Prometheus's own ServiceAccount: templates/_helpers.tpl "kube-prometheus-stack.prometheus.serviceAccountName",
# "<fullname>-prometheus" when the chart creates it (values.yaml prometheus.serviceAccount.create: true, name "").
PROMETHEUS_SERVICE_ACCOUNT = f"{FULLNAME}-prometheus"
# The port the Prometheus container listens on (the operator's "web" port, 9090): what the receiving sidecar captures.
PROMETHEUS_WEB_PORT = 9090
# What a PodMonitor or ServiceMonitor must carry to be scraped: the selectors set in the values below (the ones the
# chart itself builds from its release name when *SelectorNilUsesHelmValues is true, here stated rather than implied).
MONITOR_LABELS = {"release": RELEASE}
POD_MONITOR_LABELS = MONITOR_LABELS
# What a PrometheusRule must carry to be loaded (alert_rules.py): the ruleSelector set in the values below, stated as the
# monitors' are (the chart's default, ruleSelectorNilUsesHelmValues, builds the same from the release's name).
RULE_LABELS = MONITOR_LABELS
SERVICE_MONITOR_LABELS = MONITOR_LABELS  # the DCGM exporter's ServiceMonitor (gpu_runtime.py) carries them
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

# The global view over the mesh. One Service of this name in every cell's `monitoring` namespace: Istio merges a
# Service's endpoints across the clusters of a mesh by name and namespace, and only the receiving cell's Prometheus
# pods carry RECEIVER_LABEL, so in every other cell the name resolves (the Service exists there) and its only
# endpoints are the receiver's, through the receiving network's east-west gateway. Its own port, so the senders'
# sidecars capture that port and nothing else of what Prometheus sends (scrapes stay as they are).
GLOBAL_SERVICE = "metrics-global"
GLOBAL_PORT = 19090
GLOBAL_HOST = f"{GLOBAL_SERVICE}.{NAMESPACE}.svc.cluster.local"
GLOBAL_REMOTE_WRITE_URL = f"http://{GLOBAL_HOST}:{GLOBAL_PORT}/api/v1/write"  # plaintext to the local sidecar, mTLS on
RECEIVER_LABEL = {"lepton.ai/metrics-global": "receiver"}
# Prometheus's remote-write receiver path (prometheus.io/docs/prometheus/latest/querying/api/#remote-write-receiver).
REMOTE_WRITE_PATH = "/api/v1/write"
# The mesh's trust domain: istiod's meshConfig.trustDomain default (mesh.py sets none), shared by every cell.
TRUST_DOMAIN = "cluster.local"
SENDER_PRINCIPAL = f"{TRUST_DOMAIN}/ns/{NAMESPACE}/sa/{PROMETHEUS_SERVICE_ACCOUNT}"
# Istio's traffic annotations, read by its injector and CNI agent (istio-discovery files/injection-template.yaml,
# 1.28.0; vendored in tests/upstream): the pod label asks for a sidecar in a namespace without istio-injection (the
# injector webhook's objectSelector sidecar.istio.io/inject In [true]). As Istio's "Prometheus" integration page
# meshes Prometheus ("Option 2"), no inbound capture and no outbound IP range: scrapes and queries stay as they are.
SIDECAR_LABEL = {"sidecar.istio.io/inject": "true"}
INCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/includeInboundPorts"
INCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/includeOutboundIPRanges"
INCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/includeOutboundPorts"
# A sender captures only the global port (whatever the destination IP); the receiver only the global port, inbound,
# where its sidecar listens (the Sidecar's ingress listener) and hands the writes to Prometheus on localhost: its web
# port is not captured, so the cell's own unmeshed readers (Grafana, KEDA, the operator) reach it as before, and the
# mesh's STRICT mTLS holds on the one port the mesh reaches.
SENDER_TRAFFIC = {INCLUDE_INBOUND_PORTS: "", INCLUDE_OUTBOUND_IP_RANGES: "", INCLUDE_OUTBOUND_PORTS: str(GLOBAL_PORT)}
RECEIVER_TRAFFIC = {INCLUDE_INBOUND_PORTS: str(GLOBAL_PORT), INCLUDE_OUTBOUND_IP_RANGES: ""}
# The external endpoint's credentials, in this namespace (the operator reads a remoteWrite's secrets from
# Prometheus's own namespace).
REMOTE_WRITE_SECRET = "metrics-remote-write"
# The receiver stops at this share of its volume (retentionSize), so the disk never fills before retention ends.
RETENTION_SIZE_SHARE = 0.85

# Istio's prometheus-operator sample (samples/addons/extras/prometheus-operator.yaml, 1.28.0, vendored in
# tests/upstream): every sidecar's and gateway's Envoy stats (the agent's :15020/stats/prometheus, which pods name in
# their prometheus.io annotations) and istiod's own metrics (its Service's http-monitoring port).
ENVOY_STATS_PATH = "/stats/prometheus"
ENVOY_STATS_RELABELINGS = [
    {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "istio-proxy"},
    {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"]},
    {
        "action": "replace",
        "regex": r"(\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})",
        "replacement": "[$2]:$1",
        "sourceLabels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
        "targetLabel": "__address__",
    },
    {
        "action": "replace",
        "regex": r"(\d+);((([0-9]+?)(\.|$)){4})",
        "replacement": "$2:$1",
        "sourceLabels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
        "targetLabel": "__address__",
    },
    {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_(.+)"},
    {"sourceLabels": ["__meta_kubernetes_namespace"], "action": "replace", "targetLabel": "namespace"},
    {"sourceLabels": ["__meta_kubernetes_pod_name"], "action": "replace", "targetLabel": "pod"},
]
ISTIOD_MONITOR_SPEC = {
    "jobLabel": "istio",
    "targetLabels": ["app"],
    "selector": {"matchExpressions": [{"key": "istio", "operator": "In", "values": ["pilot"]}]},
    "namespaceSelector": {"any": True},
    "endpoints": [{"port": "http-monitoring", "interval": "15s"}],
}

# The custom resources this component emits: (apiVersion, labels) by kind.
CUSTOM_KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "PodMonitor": ("monitoring.coreos.com/v1", MONITOR_LABELS),
    "ServiceMonitor": ("monitoring.coreos.com/v1", MONITOR_LABELS),
    "DestinationRule": ("networking.istio.io/v1", {}),
    "Sidecar": ("networking.istio.io/v1", {}),
    "AuthorizationPolicy": ("security.istio.io/v1", {}),
}


class MonitoringArgsDict(TypedDict, total=False):
    """MonitoringArgs as a plain dict: the same keys, validated the same way."""

    spec: MonitoringSpec | Mapping[str, Any]
    cell: Required[DnsLabel]
    cloud: Required[DnsLabel]
    models_namespace: DnsLabel
    receive_global: GlobalMetricsCellSpec | Mapping[str, Any] | None
    send_global: Literal["mesh"] | GlobalMetricsRemoteWriteSpec | Mapping[str, Any] | None
    remote_write_credentials: PulumiInput[Mapping[str, str]] | None


class MonitoringArgs(ComponentArgs):
    spec: MonitoringSpec = MonitoringSpec()
    cell: DnsLabel = Field(description="The cell's name: Prometheus's `cell` external label.")
    cloud: DnsLabel = Field(description="The cell's cloud (aws, azure, gcp, existing): Prometheus's `cloud` external label.")
    models_namespace: DnsLabel = Field(
        "models", description="Where the models run: their own PodMonitors scrape them, so the mesh's leaves them out."
    )
    receive_global: GlobalMetricsCellSpec | None = Field(
        None, description="This cell holds the global view: its Prometheus receives the other cells' series over the mesh."
    )
    send_global: Literal["mesh"] | GlobalMetricsRemoteWriteSpec | None = Field(
        None, description="Where this cell's series go: 'mesh' (the receiving cell) or an external endpoint."
    )
    remote_write_credentials: PulumiInput[Mapping[str, str]] | None = Field(
        None, description="The external endpoint's credentials (a secret Output of the fields its auth reads)."
    )

    @model_validator(mode="after")
    def _one_role(self) -> "MonitoringArgs":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if self.receive_global and self.send_global:
            issues.append((("send_global",), "a cell that receives the global view sends to no other"))
        external = self.send_global if isinstance(self.send_global, GlobalMetricsRemoteWriteSpec) else None
        if external and external.credential_fields and self.remote_write_credentials is None:
            issues.append((("remote_write_credentials",), f"auth {external.auth} needs {', '.join(external.credential_fields)}"))
        if issues:
            raise SpecIssues(issues)
        return self


def retention_size(storage_size: str) -> str:
    """Prometheus's retentionSize for a volume of ``storage_size`` (Gi/Ti): RETENTION_SIZE_SHARE of it, in GiB (the
    Prometheus CRD's pattern, units powers of two as Prometheus reads them)."""
    number, unit = int(storage_size[:-2]), storage_size[-2:]
    gib = number * (1024 if unit == "Ti" else 1)
    return f"{int(gib * RETENTION_SIZE_SHARE)}GiB"


def _external_remote_write(target: GlobalMetricsRemoteWriteSpec) -> dict[str, Any]:
    """A remoteWrite entry (the Prometheus CRD's RemoteWriteSpec) for an external endpoint, its secrets by reference."""

    def ref(key: str) -> dict[str, str]:
        return {"name": REMOTE_WRITE_SECRET, "key": key}

    entry: dict[str, Any] = {"name": "global", "url": target.url}
    if target.auth == "basic":
        entry["basicAuth"] = {"username": ref("username"), "password": ref("password")}
    elif target.auth == "bearer":
        entry["authorization"] = {"type": "Bearer", "credentials": ref("token")}
    elif target.auth == "sigv4" and target.sigv4:
        sigv4: dict[str, Any] = {"region": target.sigv4.region, "accessKey": ref("access_key_id"), "secretKey": ref("secret_access_key")}
        if target.sigv4.role_arn:
            sigv4["roleArn"] = target.sigv4.role_arn
        entry["sigv4"] = sigv4
    return entry


def global_view_values(args: MonitoringArgs) -> dict[str, Any]:
    """The prometheusSpec keys that make this cell's Prometheus receive or send the global view ({} for neither)."""
    labels = [("cell", args.cell), ("cloud", args.cloud)]
    if args.receive_global:
        receive = args.receive_global
        return {
            "enableRemoteWriteReceiver": True,
            "retention": receive.retention,
            "retentionSize": retention_size(receive.storage_size),
            "storageSpec": _storage(receive.storage_size),
            "podMetadata": {"labels": {**SIDECAR_LABEL, **RECEIVER_LABEL}, "annotations": dict(RECEIVER_TRAFFIC)},
            # externalLabels label only what leaves this Prometheus; the receiver's own series stay here, so its scrapes
            # add the same two labels (a default scrape class applies to every monitor), and every cell's series in
            # the global view carry cell and cloud alike.
            "scrapeClasses": [
                {
                    "name": "cell",
                    "default": True,
                    "relabelings": [{"action": "replace", "targetLabel": k, "replacement": v} for k, v in labels],
                }
            ],
        }
    if args.send_global == "mesh":
        return {
            "remoteWrite": [{"name": "global", "url": GLOBAL_REMOTE_WRITE_URL}],
            "podMetadata": {"labels": dict(SIDECAR_LABEL), "annotations": dict(SENDER_TRAFFIC)},
        }
    if isinstance(args.send_global, GlobalMetricsRemoteWriteSpec):
        return {"remoteWrite": [_external_remote_write(args.send_global)]}
    return {}


def _storage(size: str) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}}


def prometheus_values(spec: MonitoringSpec, cell: str, cloud: str, args: MonitoringArgs | None = None) -> dict[str, Any]:
    """kube-prometheus-stack values (keys from the chart's values.yaml at 88.5.3, tests/upstream checks them; the
    prometheusSpec keys the chart passes on to the Prometheus resource are checked against its CRD there too)."""
    return {
        "fullnameOverride": FULLNAME,
        "prometheus": {
            "service": {"port": PROMETHEUS_PORT},
            "prometheusSpec": {
                "externalLabels": {"cell": cell, "cloud": cloud},
                "retention": spec.retention,
                "storageSpec": _storage(spec.storage_size),
                "securityContext": dict(PROMETHEUS_SECURITY_CONTEXT),
                "podMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelector": {"matchLabels": dict(MONITOR_LABELS)},
                # values.yaml: {} selects PodMonitors in every namespace (nil would be Prometheus's own only).
                "podMonitorNamespaceSelector": {},
                "ruleSelectorNilUsesHelmValues": False,
                "ruleSelector": {"matchLabels": dict(RULE_LABELS)},
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "serviceMonitorSelector": {"matchLabels": dict(MONITOR_LABELS)},
                "serviceMonitorNamespaceSelector": {},
                **(global_view_values(args) if args else {}),
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


def envoy_stats_monitor_spec(models_namespace: str) -> dict[str, Any]:
    """Istio's envoy-stats-monitor PodMonitor, leaving out the models' namespace (each model's PodMonitor scrapes
    the same merged endpoint with the model's labels; two monitors would store every series twice)."""
    skip_models = {"action": "drop", "sourceLabels": ["__meta_kubernetes_namespace"], "regex": models_namespace}
    return {
        "selector": {"matchExpressions": [{"key": "istio-prometheus-ignore", "operator": "DoesNotExist"}]},
        "namespaceSelector": {"any": True},
        "jobLabel": "envoy-stats",
        "podMetricsEndpoints": [{"path": ENVOY_STATS_PATH, "interval": "15s", "relabelings": [skip_models, *ENVOY_STATS_RELABELINGS]}],
    }


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack in namespace ``monitoring`` (PSA privileged: the node exporter reads the host), the
    mesh's monitors, and this cell's part of the global view."""

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
        # The operator reads an external remote write's credentials when it renders Prometheus's config: there first.
        secrets = [self._remote_write_secret(args, ns)] if isinstance(args.send_global, GlobalMetricsRemoteWriteSpec) else []
        stack = release(
            self,
            RELEASE,
            chart=CHART,
            repo=CHART_REPO,
            version=args.spec.chart_version,
            namespace=ns.metadata.name,
            values=prometheus_values(args.spec, args.cell, args.cloud, args),
            depends_on=[s for s in secrets if s is not None],
        )
        # The monitors' CRDs come with the chart.
        after_chart = pulumi.ResourceOptions(parent=self, depends_on=[stack])
        self._custom("envoy-stats", "envoy-stats", "PodMonitor", envoy_stats_monitor_spec(args.models_namespace), after_chart)
        self._custom("istiod", "istiod", "ServiceMonitor", ISTIOD_MONITOR_SPEC, after_chart)
        if args.receive_global or args.send_global == "mesh":
            self._global_over_mesh(args, ns)

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

    def _custom(self, suffix: str, name: str, kind: str, spec: dict, opts: pulumi.ResourceOptions) -> CustomResource:
        api_version, labels = CUSTOM_KINDS[kind]
        return CustomResource(
            child_name(self, suffix),
            api_version=api_version,
            kind=kind,
            metadata={"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
            spec=spec,
            opts=opts,
        )

    def _remote_write_secret(self, args: MonitoringArgs, ns: core.Namespace) -> core.Secret | None:
        """The external endpoint's credentials, kept secret in state and plans."""
        if args.remote_write_credentials is None:
            return None
        credentials = pulumi.Output.secret(pulumi.Output.from_input(args.remote_write_credentials))
        return core.Secret(
            child_name(self, REMOTE_WRITE_SECRET),
            metadata={"name": REMOTE_WRITE_SECRET, "namespace": ns.metadata.name},
            type="Opaque",
            string_data=credentials,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _global_over_mesh(self, args: MonitoringArgs, ns: core.Namespace) -> None:
        """The Service every cell resolves the receiver by, mTLS to it, and (on the receiver) who may write."""
        opts = pulumi.ResourceOptions(parent=self)
        service = core.Service(
            child_name(self, GLOBAL_SERVICE),
            metadata={"name": GLOBAL_SERVICE, "namespace": ns.metadata.name},
            spec={
                "selector": dict(RECEIVER_LABEL),
                # Istio picks the protocol from the port name / appProtocol.
                "ports": [{"name": "http-remote-write", "port": GLOBAL_PORT, "target_port": GLOBAL_PORT, "app_protocol": "http"}],
            },
            opts=opts,
        )
        istio = pulumi.ResourceOptions(parent=self, depends_on=[service])
        self._custom(f"{GLOBAL_SERVICE}-dr", GLOBAL_SERVICE, "DestinationRule", global_destination_rule(), istio)
        if args.receive_global:
            self._custom(f"{GLOBAL_SERVICE}-sidecar", GLOBAL_SERVICE, "Sidecar", receiver_sidecar(), istio)
            self._custom(f"{GLOBAL_SERVICE}-authz", GLOBAL_SERVICE, "AuthorizationPolicy", receiver_authorization(), istio)


def global_destination_rule() -> dict[str, Any]:
    """Senders' sidecars speak the mesh's mTLS to the receiver (through its network's east-west gateway)."""
    return {"host": GLOBAL_HOST, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}


def receiver_sidecar() -> dict[str, Any]:
    """The receiver's sidecar listens on the global port (mTLS, the mesh's STRICT) and forwards to Prometheus's web
    port on localhost (Istio's Sidecar ingress listener, defaultEndpoint)."""
    return {
        "workloadSelector": {"labels": dict(RECEIVER_LABEL)},
        "ingress": [
            {
                "port": {"number": GLOBAL_PORT, "protocol": "HTTP", "name": "http-remote-write"},
                "defaultEndpoint": f"127.0.0.1:{PROMETHEUS_WEB_PORT}",
            }
        ],
    }


def receiver_authorization() -> dict[str, Any]:
    """Through the mesh, only the cells' Prometheus identity, and only to write (an ALLOW policy: anything else that
    reaches the sidecar is denied). Reads on the web port do not pass the sidecar and are as they were."""
    return {
        "selector": {"matchLabels": dict(RECEIVER_LABEL)},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": [SENDER_PRINCIPAL]}}],
                "to": [{"operation": {"methods": ["POST"], "paths": [REMOTE_WRITE_PATH]}}],
            }
        ],
    }
