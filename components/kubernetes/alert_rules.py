"""The cell's alerts as code: one PrometheusRule (monitoring.coreos.com/v1) in namespace ``monitoring``, labelled so
the cell's kube-prometheus-stack Prometheus loads it (monitoring.RULE_LABELS, the ``ruleSelector`` its values set).

The rule groups are plain data (``rule_groups``): the component puts them in the PrometheusRule's spec, and the tests
render the same groups to a rule file (``rules_file``) for ``promtool check rules`` / ``promtool test rules`` and a
real Prometheus server (tests/observe/test_observe_alerts*.py). Every alert carries a ``severity`` (``critical``
pages, ``warning`` is a ticket), the ``cell`` and, for a model's alerts, the ``model``; its annotations say what is
wrong where (``summary``, ``description``) and what to look at first (``runbook``).

Per model (its series come from serving/metrics.py through the model's PodMonitor, which adds ``namespace`` and
copies the pods' ``app`` and ``version`` labels; serving labels its own series with ``model``):
- ModelNotReady: a Deployment of the model has fewer available replicas than desired for longer than a rollout may
  take (kube-state-metrics);
- ModelErrorRatio: the share of requests the server failed (``outcome="error"``) is over ERROR_RATIO;
- ModelLatencySLOBurn: the model's latency SLO (``ModelSpec.latency``: ``objective`` of answered requests within
  ``threshold_seconds``) burns its error budget too fast, by the multi-window, multi-burn-rate method;
- ModelQueueSaturated: a server's queue of requests waiting for a batch stays near its capacity.
Per cell (every GPU workload, not only models):
- GpuPodsPending: a pod requesting ``nvidia.com/gpu`` stays Pending: no node can take it;
- GpuXidErrors: a GPU reported an XID error (the DCGM exporter the GPU operator runs).
"""

from __future__ import annotations

from typing import Any, Mapping, Required, Sequence, TypedDict

import pulumi
import yaml
from pulumi_kubernetes.apiextensions import CustomResource
from pydantic import Field

from lepton_infra.spec import ComponentArgs, DnsLabel, ModelSpec, PulumiInput, parse_model

from ._helm import child_name
from .model_deployment import QUEUE_METRIC, ROLLOUT_TIMEOUT
from .monitoring import NAMESPACE, RULE_LABELS

TOKEN = "lepton:kubernetes:AlertRules"
RULE_NAME = "lepton-alerts"
MODELS_NAMESPACE = "models"

# serving/metrics.py (tests/observe checks each name against what a real server exposes).
REQUESTS = "serving_requests_total"  # Counter serving_requests{model, outcome}: prometheus_client adds _total
LATENCY = "serving_request_duration_seconds"  # Histogram{model} of answered requests: _bucket{le}, _count
# serving/config.py ``max_queue_depth``: the requests one server process holds before it answers queue_full. The
# model's Deployment does not set MAX_QUEUE_DEPTH, so its pods run with this default (tests/observe checks it).
SERVER_QUEUE_CAPACITY = 1024

# kube-state-metrics v2.20.0 (the kube-state-metrics chart 8.4.0 kube-prometheus-stack 88.5.3 depends on; its
# docs/metrics/workload/{deployment,pod}-metrics.md are vendored in tests/upstream, which checks these names).
DESIRED_REPLICAS = "kube_deployment_spec_replicas"  # {namespace, deployment}
AVAILABLE_REPLICAS = "kube_deployment_status_replicas_available"  # {namespace, deployment}
POD_PHASE = "kube_pod_status_phase"  # {namespace, pod, phase}: 1 for the pod's current phase, 0 for the others
CONTAINER_REQUESTS = "kube_pod_container_resource_requests"  # {namespace, pod, container, resource, unit}
# The resource label is the resource's name through SanitizeLabelName (internal/store/utils.go: every character
# outside [a-zA-Z0-9_] becomes "_"), so nvidia.com/gpu is "nvidia_com_gpu" (internal/store/pod_test.go at v2.20.0).
GPU_RESOURCE = "nvidia_com_gpu"

# dcgm-exporter 4.4.2-4.7.0 (the gpu-operator v25.10.1 chart's dcgmExporter.version), etc/default-counters.csv
# (vendored in tests/upstream): "DCGM_FI_DEV_XID_ERRORS, gauge, Value of the last XID error encountered." Its series
# carry gpu, UUID, modelName and Hostname (internal/pkg/rendermetrics/render_metrics.go at that tag).
XID_ERRORS = "DCGM_FI_DEV_XID_ERRORS"

ERROR_RATIO = 0.05  # ModelErrorRatio: over 5% of a model's requests failed in the server...
ERROR_RATIO_FOR = "5m"  # ...for 5 minutes
# ModelNotReady waits as long as `pulumi up` lets a rollout take (a GPU node scaled up from zero, the image pulled,
# the model loaded): a model still inside that time is starting, not broken.
NOT_READY_FOR = ROLLOUT_TIMEOUT
QUEUE_SATURATION = 0.8  # ModelQueueSaturated: a server's queue over 80% of its capacity...
QUEUE_SATURATED_FOR = "10m"  # ...for 10 minutes (KEDA scales within a minute or two when it can)
# A GPU node scaled up from zero takes about 5 minutes (model_deployment.py); three times that is no capacity.
GPU_PENDING_FOR = "15m"

# The Google SRE workbook, "Alerting on SLOs", recommendation 6 (multiwindow, multi-burn-rate alerts), Table 5-8:
# (long window, short window, burn rate, severity): 2% of a 30-day budget in 1 h or 5% in 6 h pages; 10% in 1 day or
# in 3 days is a ticket. Both windows must burn: the long one proves it matters, the short one that it still does.
BURN_RATES = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def slo_miss_ratio(window: str) -> str:
    """The recording rule of a model's share of answered requests over its latency bound, over ``window``."""
    return f"model:{LATENCY}:slo_miss_ratio_rate{window}"


def le_matcher(bound: float) -> str:
    """A matcher for the bucket whose upper bound is ``bound``. prometheus_client writes 1.0 as le="1.0"; Prometheus
    3 (the chart's) normalises le on ingestion to le="1" (prometheus.io/docs/prometheus/latest/migration, "le and
    quantile label values"); Prometheus 2 keeps what was scraped. Whole bounds match both."""
    if bound == int(bound):
        return f'le=~"{int(bound)}(\\\\.0)?"'
    return f'le="{bound:g}"'


def _number(value: float) -> str:
    return f"{value:.6g}"


def _alert(name: str, expr: str, severity: str, labels: dict[str, str], summary: str, description: str, runbook: str,
           for_: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, **labels}
    rule["annotations"] = {"summary": summary, "description": description, "runbook": runbook}
    return rule


def slo_recording_rules(model: ModelSpec, namespace: str) -> list[dict[str, Any]]:
    """``model:...:slo_miss_ratio_rate<w>{model}``: (answered - answered within the bound) / answered, per window."""
    selector = f'namespace="{namespace}",model="{model.name}"'
    fast = f"{selector},{le_matcher(model.latency.threshold_seconds)}"
    rules = []
    for w in SLO_WINDOWS:
        answered = f"sum by (model) (rate({LATENCY}_count{{{selector}}}[{w}]))"
        within = f"sum by (model) (rate({LATENCY}_bucket{{{fast}}}[{w}]))"
        # The model label again as the rule's own: one record name per model, which promtool's lint requires.
        rules.append({"record": slo_miss_ratio(w), "expr": f"({answered} - {within}) / {answered}", "labels": {"model": model.name}})
    return rules


def _burn(model: ModelSpec, severity: str) -> str:
    budget = 1 - model.latency.objective
    clauses = [
        f'({slo_miss_ratio(long)}{{model="{model.name}"}} > {_number(rate * budget)} '
        f'and {slo_miss_ratio(short)}{{model="{model.name}"}} > {_number(rate * budget)})'
        for long, short, rate, level in BURN_RATES
        if level == severity
    ]
    return " or ".join(clauses)


def model_alerts(cell: str, model: ModelSpec, namespace: str) -> list[dict[str, Any]]:
    m, where = model.name, f"model {model.name} in cell {cell}"
    labels = {"cell": cell, "model": m}
    versions = [model.version, *([model.canary.version] if model.canary else [])]
    deployments = f'namespace="{namespace}",deployment=~"{"|".join(f"{m}-{v}" for v in versions)}"'
    requests = f'namespace="{namespace}",model="{m}"'
    slo = f"{_number(model.latency.objective * 100)}% of answered requests within {model.latency.threshold_seconds:g}s"
    burn = [
        _alert(
            "ModelLatencySLOBurn", _burn(model, severity), severity, labels,
            f"{where} is burning its latency error budget {'fast' if severity == 'critical' else 'steadily'}",
            f"{where}: {{{{ $value | humanizePercentage }}}} of answered requests took over "
            f"{model.latency.threshold_seconds:g}s; the objective is {slo}.",
            "Compare serving_queue_duration_seconds and serving_compute_duration_seconds: waiting means too few "
            "replicas (max_size reached, GPUs pending), computing means a slower model or batch; check a canary.",
        )
        for severity in ("critical", "warning")
    ]
    return [
        _alert(
            "ModelNotReady",
            f"max by (namespace, deployment) ({DESIRED_REPLICAS}{{{deployments}}}) "
            f"- max by (namespace, deployment) ({AVAILABLE_REPLICAS}{{{deployments}}}) > 0",
            "critical", labels,
            f"{where} has unavailable replicas",
            f"{where}: Deployment {{{{ $labels.deployment }}}} has had {{{{ $value }}}} fewer available replicas "
            f"than desired for {NOT_READY_FOR}.",
            f"kubectl -n {namespace} describe deployment {{{{ $labels.deployment }}}}; look for pods Pending (GPU "
            "capacity), CrashLoopBackOff or failing the startup probe (the model's artifact or its lake access).",
            NOT_READY_FOR,
        ),
        _alert(
            "ModelErrorRatio",
            f'sum by (model) (rate({REQUESTS}{{{requests},outcome="error"}}[5m])) '
            f"/ sum by (model) (rate({REQUESTS}{{{requests}}}[5m])) > {_number(ERROR_RATIO)}",
            "critical", labels,
            f"{where} fails requests",
            f"{where}: {{{{ $value | humanizePercentage }}}} of requests failed in the server over 5 minutes "
            f"(threshold {_number(ERROR_RATIO * 100)}%).",
            f"kubectl -n {namespace} logs -l app={m} -c server: the server logs each failed request with its error.",
            ERROR_RATIO_FOR,
        ),
        *burn,
        _alert(
            "ModelQueueSaturated",
            f'max by (namespace, pod, version) ({QUEUE_METRIC}{{namespace="{namespace}",app="{m}"}}) '
            f"/ {SERVER_QUEUE_CAPACITY} > {_number(QUEUE_SATURATION)}",
            "warning", labels,
            f"{where} has a server near its queue capacity",
            f"{where}: pod {{{{ $labels.pod }}}} holds {{{{ $value | humanizePercentage }}}} of the "
            f"{SERVER_QUEUE_CAPACITY} requests it queues before refusing more.",
            f"kubectl -n {namespace} get scaledobject,hpa,pods -l app={m}: at replicas.max_size, raise it; with "
            "pods Pending, the GPU pool is full (GpuPodsPending).",
            QUEUE_SATURATED_FOR,
        ),
    ]


def gpu_alerts(cell: str) -> list[dict[str, Any]]:
    labels = {"cell": cell}
    return [
        _alert(
            "GpuPodsPending",
            f'(max by (namespace, pod) ({POD_PHASE}{{phase="Pending"}}) == 1) and on (namespace, pod) '
            f'(sum by (namespace, pod) ({CONTAINER_REQUESTS}{{resource="{GPU_RESOURCE}"}}) > 0)',
            "warning", labels,
            f"a GPU pod has been pending in cell {cell} for {GPU_PENDING_FOR}",
            f"Pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} requests nvidia.com/gpu and has been Pending in "
            f"cell {cell} for {GPU_PENDING_FOR}: no node can take it.",
            "kubectl describe pod; the cluster autoscaler's events say why no node was added: the GPU pool at its "
            "max_size, the cloud's GPU quota, or no capacity of that type in the region.",
            GPU_PENDING_FOR,
        ),
        _alert(
            "GpuXidErrors",
            f"max by (Hostname, gpu, UUID, modelName) ({XID_ERRORS}) > 0",
            "warning", labels,
            f"a GPU in cell {cell} reported an XID error",
            f"GPU {{{{ $labels.gpu }}}} ({{{{ $labels.UUID }}}}) on {{{{ $labels.Hostname }}}} in cell {cell} "
            "last reported XID {{ $value }}.",
            "Look the XID up in NVIDIA's XID catalog (docs.nvidia.com/deploy/xid-errors): 13, 31 and 43 are "
            "application faults; 48, 63, 64, 74, 79, 92, 94, 95 call for draining the node and resetting the GPU.",
        ),
    ]


def rule_groups(cell: str, models: list[ModelSpec], namespace: str = MODELS_NAMESPACE) -> list[dict[str, Any]]:
    """The cell's rule groups, as a PrometheusRule's spec.groups and a Prometheus rule file both hold them."""
    groups = []
    if models:
        groups.append({"name": "lepton-serving-slo", "rules": [r for m in models for r in slo_recording_rules(m, namespace)]})
        groups.append({"name": "lepton-models", "rules": [r for m in models for r in model_alerts(cell, m, namespace)]})
    groups.append({"name": "lepton-gpus", "rules": gpu_alerts(cell)})
    return groups


def rules_file(groups: list[dict[str, Any]]) -> str:
    """A Prometheus rule file (``promtool check rules``, ``rule_files``) of ``groups``."""
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000)


class AlertRulesArgsDict(TypedDict, total=False):
    """AlertRulesArgs as a plain dict: the same keys, validated the same way."""

    cell: Required[DnsLabel]
    models: Sequence[ModelSpec | Mapping[str, Any]]
    models_namespace: DnsLabel
    namespace: PulumiInput[str]


class AlertRulesArgs(ComponentArgs):
    cell: DnsLabel = Field(description="The cell's name: every alert's `cell` label and text.")
    models: list[ModelSpec] = Field(default_factory=list, description="The models the cell serves.")
    models_namespace: DnsLabel = Field(MODELS_NAMESPACE, description="The namespace the models run in.")
    namespace: PulumiInput[str] = Field(NAMESPACE, description="The monitoring namespace (Monitoring.namespace).")


class AlertRules(pulumi.ComponentResource):
    """The cell's PrometheusRule, selected by the cell's Prometheus (``RULE_LABELS``)."""

    rule_name: pulumi.Output[str]

    def __init__(self, name: str, args: AlertRulesArgs | AlertRulesArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(AlertRulesArgs, args)
        super().__init__(TOKEN, name, None, opts)
        rule = CustomResource(
            child_name(self, "rules"),
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": RULE_NAME, "namespace": args.namespace, "labels": dict(RULE_LABELS)},
            spec={"groups": rule_groups(args.cell, args.models, args.models_namespace)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_name = rule.metadata["name"]
        self.register_outputs({"rule_name": self.rule_name})
