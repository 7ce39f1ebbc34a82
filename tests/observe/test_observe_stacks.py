"""Every stack, offline: each cell installs kube-prometheus-stack and KEDA; each model scales with a KEDA
ScaledObject on serving's queue depth from its cell's Prometheus (no CPU HPA) and is scraped through a PodMonitor
that the chart's Prometheus selects (the server's /metrics through Istio's metrics merging, since the serving port
admits only mTLS callers); every one of them passes its vendored CRD, and a wrong field fails."""

import copy

import pytest

import upstream_truth as truth
from lepton_infra.components.kubernetes import model_deployment, monitoring
from lepton_infra.kubernetes_schema import manifest
from lepton_infra.testing import read_stack_config
from lepton_infra.spec import parse_platform_spec
from lepton_infra.upstream_schemas import custom_resource_errors

from stack_support import STACKS
from test_upstream import put  # the upstream tests' own corrupter: a value set at a path of keys and indexes

STACK_NAMES = sorted(path.name.split(".")[1] for path in STACKS.glob("Pulumi.*.yaml"))
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def spec_of(stack):
    return parse_platform_spec(read_stack_config(stack, STACKS)["lepton-platform:platform"])


def cells():
    return [(stack, cell) for stack in STACK_NAMES for cell in spec_of(stack).cells]


def cell_plan(stack_plan, stack, cell):
    plan = stack_plan(stack)
    return plan.within(plan.one("lepton:platform:Cell", f"{spec_of(stack).environment}-{cell.name}"))


def releases(plan, chart):
    return [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == chart]


def test_there_are_stacks():
    assert STACK_NAMES == ["dev", "local", "prod", "staging"]


@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_every_cell_installs_one_monitoring_stack_and_one_keda_pinned_in_their_namespaces(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    (prometheus,) = releases(plan, "kube-prometheus-stack")
    (keda,) = releases(plan, "keda")
    assert (prometheus.inputs["namespace"], prometheus.inputs["version"]) == ("monitoring", truth.KUBE_PROMETHEUS_STACK)
    assert prometheus.inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert (keda.inputs["namespace"], keda.inputs["version"]) == ("keda", truth.KEDA)
    assert keda.inputs["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    spec = prometheus.inputs["values"]["prometheus"]["prometheusSpec"]
    assert spec["externalLabels"] == {"cell": cell.name, "cloud": cell.cloud}
    # The cell holding the global view keeps every cell's samples as the spec's global_metrics sizes them.
    sized = spec_of(stack).global_metrics if spec_of(stack).receives_global_metrics(cell) else cell.monitoring
    assert spec["retention"] == sized.retention
    assert spec["securityContext"]["runAsNonRoot"] is True
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == sized.storage_size
    assert keda.inputs["values"] == {"clusterName": cell.name}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_release_of_the_two_charts_sets_only_values_the_chart_has(stack, stack_plan):
    found = [r for chart in ("kube-prometheus-stack", "keda") for r in releases(stack_plan(stack), chart)]
    assert len(found) == 2 * len(spec_of(stack).cells)
    errors = [f"{r.name}: {e}" for r in found for e in truth.chart_of(r.inputs).errors(r.inputs["values"])]
    assert errors == []


def model_objects(plan, type_, model):
    return [r for r in plan.of_type(type_) if r.inputs["metadata"]["name"].startswith(model)]


def served(stack):
    spec = spec_of(stack)
    return [(stack, cell, model) for cell in spec.cells for model in spec.models_for(cell)]


SERVED = [case for stack in STACK_NAMES for case in served(stack)]


@pytest.mark.parametrize("stack,cell,model", SERVED, ids=lambda v: getattr(v, "name", v))
def test_each_model_scales_on_its_serving_queue_depth_from_its_cells_prometheus_not_on_cpu(stack, cell, model, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    assert plan.of_type(HPA) == []
    (scaled,) = [r for r in plan.of_type(SCALED_OBJECT) if r.inputs["metadata"]["name"] == f"{model.name}-{model.version}"]
    spec = scaled.inputs["spec"]
    stable = next(d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == f"{model.name}-{model.version}")
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": stable.inputs["metadata"]["name"]}
    assert scaled.inputs["metadata"]["namespace"] == stable.inputs["metadata"]["namespace"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (model.replicas.min_size, model.replicas.max_size)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"] == {
        "serverAddress": "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
        "query": f'sum(serving_queue_depth{{namespace="models",app="{model.name}"}})',
        "threshold": str(model.queue_depth_target),
    }


def test_the_prometheus_address_is_the_service_the_chart_names_from_our_fullname_override(stack_plan):
    (release,) = releases(cell_plan(stack_plan, "dev", spec_of("dev").cells[0]), "kube-prometheus-stack")
    values = release.inputs["values"]
    # kube-prometheus-stack templates: "<fullname>-prometheus", fullname = fullnameOverride (truncated to 26).
    assert len(values["fullnameOverride"]) <= 26
    service = f"{values['fullnameOverride']}-prometheus"
    port = int(values["prometheus"]["service"]["port"])  # the mock records numbers as floats
    assert monitoring.PROMETHEUS_ADDRESS == f"http://{service}.{release.inputs['namespace']}.svc:{port}"


def test_the_queue_metric_is_the_gauge_serving_exports():
    text = (STACKS.parent / "serving" / "metrics.py").read_text()
    assert f'Gauge("{model_deployment.QUEUE_METRIC}"' in text


@pytest.mark.parametrize("stack,cell,model", SERVED, ids=lambda v: getattr(v, "name", v))
def test_each_models_pod_monitor_selects_its_pods_serving_port_and_the_cells_prometheus_selects_it(stack, cell, model, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    (monitor,) = [r for r in plan.of_type(POD_MONITOR) if r.inputs["metadata"]["name"] == model.name]
    spec = monitor.inputs["spec"]
    deployments = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"].startswith(f"{model.name}-")]
    assert deployments
    for deployment in deployments:
        assert monitor.inputs["metadata"]["namespace"] == deployment.inputs["metadata"]["namespace"]
        pod_labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
        # The sidecar serves the server's /metrics, on the port the pod's annotations name, merged at :15020.
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        (http,) = [p for p in container["ports"] if p["name"] == "http"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(int(http["containerPort"])), "prometheus.io/path": "/metrics"}
        assert set(spec["podTargetLabels"]) <= set(pod_labels)
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/stats/prometheus"
    keep = [r for r in endpoint["relabelings"] if r["action"] == "keep"]
    assert {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "istio-proxy"} in keep
    (address,) = [r for r in endpoint["relabelings"] if r.get("targetLabel") == "__address__"]
    assert address["sourceLabels"][1] == "__meta_kubernetes_pod_annotation_prometheus_io_port"
    # Other models' pods are not selected.
    others = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["spec"]["template"]["metadata"]["labels"].get("app") != model.name]
    assert not any(spec["selector"]["matchLabels"].items() <= d.inputs["spec"]["template"]["metadata"]["labels"].items() for d in others)
    (release,) = releases(plan, "kube-prometheus-stack")
    prometheus = release.inputs["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["podMonitorSelectorNilUsesHelmValues"] is False
    assert prometheus["podMonitorSelector"]["matchLabels"].items() <= monitor.inputs["metadata"]["labels"].items()
    assert prometheus["podMonitorNamespaceSelector"] == {}  # every namespace (values.yaml)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_scaled_object_and_pod_monitor_passes_its_vendored_crd_strictly(stack, stack_plan):
    objects = stack_plan(stack).of_type(SCALED_OBJECT) + stack_plan(stack).of_type(POD_MONITOR)
    # Per model a ScaledObject and a PodMonitor; per cell the mesh's PodMonitor of every other sidecar's Envoy stats.
    assert len(objects) == 2 * len([case for case in SERVED if case[0] == stack]) + len(spec_of(stack).cells)
    errors = [f"{o.name}: {e}" for o in objects for e in custom_resource_errors(manifest(o), truth.crd_schemas())]
    assert errors == []


@pytest.mark.parametrize(
    "type_,path,value,expected",
    [
        (SCALED_OBJECT, ("spec", "minReplicas"), 1, "spec.minReplicas: unknown field"),
        (SCALED_OBJECT, ("spec", "maxReplicaCount"), 0, "spec.maxReplicaCount: 0 is less than the minimum of 1"),
        (SCALED_OBJECT, ("spec", "triggers", 0, "metadata", "threshold"), 4, "spec.triggers[0].metadata.threshold: 4 is not of type 'string'"),
        (SCALED_OBJECT, ("spec", "scaleTargetRef", "nmae"), "x", "spec.scaleTargetRef.nmae: unknown field"),
        (POD_MONITOR, ("spec", "podMetricsEndpoints", 0, "prot"), "http", "spec.podMetricsEndpoints[0].prot: unknown field"),
        (POD_MONITOR, ("spec", "podMetricsEndpoints", 0, "relabelings", 0, "source_labels"), [], "spec.podMetricsEndpoints[0].relabelings[0].source_labels: unknown field"),
        (POD_MONITOR, ("spec", "selector", "matchLabel"), {}, "spec.selector.matchLabel: unknown field"),
    ],
    ids=["scaledobject-hpa-key", "scaledobject-max-zero", "scaledobject-threshold-type", "scaledobject-target", "podmonitor-port", "podmonitor-relabeling", "podmonitor-selector"],
)
def test_a_wrong_field_in_a_scaled_object_or_pod_monitor_is_refused_naming_it(type_, path, value, expected, stack_plan):
    obj = manifest(stack_plan("prod").of_type(type_)[0])
    assert custom_resource_errors(obj, truth.crd_schemas()) == []
    errors = custom_resource_errors(put(copy.deepcopy(obj), path, value), truth.crd_schemas())
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(
    "chart,path,value,expected",
    [
        ("kube-prometheus-stack", ("prometheus", "prometheusSpec", "externalLabel"), {}, "prometheus.prometheusSpec.externalLabel: unknown value key"),
        ("kube-prometheus-stack", ("prometheus", "service", "prot"), 9090, "prometheus.service.prot: unknown value key"),
        ("kube-prometheus-stack", ("fullnameOverride",), {"a": 1}, "fullnameOverride: the chart's default here is ''"),
        ("keda", ("clusterNmae",), "x", "clusterNmae: unknown value key"),
    ],
    ids=["prometheus-external-labels", "prometheus-service", "fullname-mapping", "keda"],
)
def test_a_wrong_value_key_of_the_two_charts_is_refused_naming_it(chart, path, value, expected, stack_plan):
    (release,) = [r for r in releases(stack_plan("prod"), chart) if r.name.startswith("prod-aws-use1-")]
    values = copy.deepcopy(dict(release.inputs["values"]))
    assert truth.chart_of(release.inputs).errors(values) == []
    errors = truth.chart_of(release.inputs).errors(put(values, path, value))
    assert any(e.startswith(expected) for e in errors), errors
