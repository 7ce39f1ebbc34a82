"""Every stack, offline: each cell registers one PrometheusRule in namespace `monitoring`, labelled so the cell's
Prometheus loads it, holding exactly the rule groups alert_rules.rule_groups makes for the cell's models; it passes
the vendored PrometheusRule CRD, and a wrong field fails. The metric names the rules read come from what the
platform's exporters document (kube-state-metrics' docs, dcgm-exporter's default counters, vendored) and serving's
own code; the latency objective's spec field refuses a threshold that is not a bucket bound of serving's histogram."""

import copy
import dataclasses
import re

import pytest

import upstream_truth as truth
from lepton_infra.components.kubernetes import alert_rules, monitoring
from lepton_infra.kubernetes_schema import manifest
from lepton_infra.spec import LATENCY_BUCKETS_SECONDS, LatencyObjective, ModelSpec, SpecError, parse_model
from lepton_infra.upstream_schemas import custom_resource_errors
from serving import config as serving_config
from serving import metrics as serving_metrics

from test_observe_stacks import STACK_NAMES, cell_plan, cells, releases, spec_of
from test_upstream import put

RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_every_cell_registers_its_rules_where_its_prometheus_loads_them(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    (rule,) = plan.of_type(RULE)
    assert rule.inputs["metadata"]["namespace"] == "monitoring"
    (release,) = releases(plan, "kube-prometheus-stack")
    assert release.inputs["namespace"] == "monitoring"
    prometheus = release.inputs["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["ruleSelectorNilUsesHelmValues"] is False
    assert prometheus["ruleSelector"]["matchLabels"].items() <= rule.inputs["metadata"]["labels"].items()
    models = spec_of(stack).models_for(cell)
    assert rule.inputs["spec"]["groups"] == alert_rules.rule_groups(cell.name, models)
    names = {r["alert"] for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {"GpuPodsPending", "GpuXidErrors"} <= names
    if models:
        assert {"ModelNotReady", "ModelErrorRatio", "ModelLatencySLOBurn", "ModelQueueSaturated"} <= names
        alerted = {r["labels"].get("model") for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r}
        assert {m.name for m in models} <= alerted


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_rule_passes_the_vendored_crd_strictly(stack, stack_plan):
    rules = stack_plan(stack).of_type(RULE)
    assert len(rules) == len(spec_of(stack).cells)
    errors = [f"{r.name}: {e}" for r in rules for e in custom_resource_errors(manifest(r), truth.crd_schemas())]
    assert errors == []


@pytest.mark.parametrize(
    "path,value,expected",
    [
        (("spec", "groups", 0, "rules", 0, "recrod"), "x", "spec.groups[0].rules[0].recrod: unknown field"),
        (("spec", "groups", 1, "rules", 0, "for"), "30 minutes", "spec.groups[1].rules[0].for: '30 minutes' does not match"),
        (("spec", "groups", 0, "nmae"), "x", "spec.groups[0].nmae: unknown field"),
    ],
    ids=["rule-key", "for-duration", "group-key"],
)
def test_a_wrong_field_in_the_rule_is_refused_naming_it(path, value, expected, stack_plan):
    obj = manifest(stack_plan("prod").of_type(RULE)[0])
    assert custom_resource_errors(obj, truth.crd_schemas()) == []
    errors = custom_resource_errors(put(copy.deepcopy(obj), path, value), truth.crd_schemas())
    assert any(e.startswith(expected) for e in errors), errors


def test_every_stack_sets_a_rule_selector_the_chart_has(stack_plan):
    (release,) = [r for r in releases(stack_plan("prod"), "kube-prometheus-stack") if r.name.startswith("prod-aws-use1-")]
    values = copy.deepcopy(dict(release.inputs["values"]))
    assert truth.chart_of(release.inputs).errors(values) == []
    bad = put(values, ("prometheus", "prometheusSpec", "ruleSelecter"), {})
    assert any(e.startswith("prometheus.prometheusSpec.ruleSelecter: unknown value key") for e in truth.chart_of(release.inputs).errors(bad))


# ------------------------------------------------------------------------------------------- where the names come from
def test_the_kube_state_metrics_names_are_in_its_vendored_docs():
    # The docs are of the kube-state-metrics release the pinned chart installs (a chart bump that moves it fails here).
    chart = truth.CHART_YAMLS[truth.KUBE_PROMETHEUS_STACK].read_text()
    assert f'- name: kube-state-metrics\n    version: "{truth.KUBE_STATE_METRICS}"' in chart
    docs = truth.KUBE_STATE_METRICS_DIR / "docs" / "workload"
    deployment, pod = (docs / "deployment-metrics.md").read_text(), (docs / "pod-metrics.md").read_text()
    for name in (alert_rules.DESIRED_REPLICAS, alert_rules.AVAILABLE_REPLICAS):
        assert re.search(rf"^\| {name} +\| Gauge", deployment, re.M), name
    for name in (alert_rules.POD_PHASE, alert_rules.CONTAINER_REQUESTS):
        assert re.search(rf"^\| {name} +\| Gauge", pod, re.M), name
    assert "`phase`=&lt;Pending" in pod and "`resource`=&lt;resource-name&gt;" in pod


def test_the_xid_metric_is_a_default_counter_of_the_dcgm_exporter_the_gpu_operator_runs():
    csv = truth.DCGM_COUNTERS.read_text()
    assert re.search(rf"^{alert_rules.XID_ERRORS}, +gauge,", csv, re.M)  # not commented out: exported by default
    values = truth.GPU_OPERATOR_DIR.joinpath("values.yaml").read_text()
    assert f"version: {truth.DCGM_EXPORTER}-distroless" in values


def test_the_serving_names_and_capacity_are_servings_own():
    text = (truth.HERE.parents[1] / "serving" / "metrics.py").read_text()
    assert 'Counter(\n            "serving_requests",' in text and alert_rules.REQUESTS == "serving_requests_total"
    assert f'"{alert_rules.LATENCY}",' in text
    defaults = {f.name: f.default for f in dataclasses.fields(serving_config.Settings)}
    assert alert_rules.SERVER_QUEUE_CAPACITY == defaults["max_queue_depth"]
    assert LATENCY_BUCKETS_SECONDS == serving_metrics._SECONDS


def test_every_metric_a_rule_reads_is_accounted_for():
    models = [ModelSpec(name="llm", accelerator="h100", artifact="a", canary={"version": "v2", "artifact": "b"})]
    read = set()
    for group in alert_rules.rule_groups("c", models):
        for rule in group["rules"]:
            read |= set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{", rule["expr"]))
            read |= set(re.findall(r"\(([A-Z_]+)\)", rule["expr"]))
    recorded = {alert_rules.slo_miss_ratio(w) for w in alert_rules.SLO_WINDOWS}
    serving = {alert_rules.REQUESTS, f"{alert_rules.LATENCY}_count", f"{alert_rules.LATENCY}_bucket", alert_rules.QUEUE_METRIC}
    exporters = {alert_rules.DESIRED_REPLICAS, alert_rules.AVAILABLE_REPLICAS, alert_rules.POD_PHASE,
                 alert_rules.CONTAINER_REQUESTS, alert_rules.XID_ERRORS}
    assert read == recorded | serving | exporters


# ------------------------------------------------------------------------------------------- the latency objective
def test_the_latency_threshold_must_be_a_bucket_bound_naming_the_field_and_the_choices():
    with pytest.raises(SpecError) as err:
        parse_model(ModelSpec, {"name": "llm", "accelerator": "h100", "artifact": "a", "latency": {"threshold_seconds": 0.3}})
    (path, message), = err.value.issues
    assert path == "latency.threshold_seconds"
    assert "bucket bound of serving_request_duration_seconds" in message and "0.25, 0.5, 1, 2.5" in message
    assert parse_model(ModelSpec, {"name": "llm", "accelerator": "h100", "artifact": "a", "latency": {"threshold_seconds": 0.25}}).latency.threshold_seconds == 0.25
    assert LatencyObjective().threshold_seconds in LATENCY_BUCKETS_SECONDS


@pytest.mark.parametrize("objective", [0.9, 1.0])
def test_an_objective_the_burn_rates_cannot_page_on_is_refused(objective):
    with pytest.raises(SpecError) as err:
        parse_model(LatencyObjective, {"objective": objective})
    assert [p for p, _ in err.value.issues] == ["objective"]


def test_a_models_threshold_and_objective_set_its_bucket_and_burn_thresholds():
    model = ModelSpec(name="llm", accelerator="h100", artifact="a", latency={"threshold_seconds": 0.25, "objective": 0.999})
    (slo, alerts, _) = alert_rules.rule_groups("c", [model])
    assert all('le="0.25"' in r["expr"] for r in slo["rules"])
    (page,) = [r for r in alerts["rules"] if r.get("alert") == "ModelLatencySLOBurn" and r["labels"]["severity"] == "critical"]
    assert "_rate1h{model=\"llm\"} > 0.0144 " in page["expr"] and "_rate30m{model=\"llm\"} > 0.006)" in page["expr"]
    whole = ModelSpec(name="llm", accelerator="h100", artifact="a")
    assert 'le=~"1(\\\\.0)?"' in alert_rules.rule_groups("c", [whole])[0]["rules"][0]["expr"]


def test_a_cell_without_models_still_watches_its_gpus():
    (gpus,) = alert_rules.rule_groups("c", [])
    assert {r["alert"] for r in gpus["rules"]} == {"GpuPodsPending", "GpuXidErrors"}


def test_the_rule_labels_are_the_ones_monitoring_selects():
    assert monitoring.RULE_LABELS == {"release": monitoring.RELEASE}
