"""What every cell's Prometheus scrapes besides the models: every meshed workload's Envoy stats and istiod (Istio's
own prometheus-operator sample, vendored), and the GPU operator's DCGM exporter; each monitor selected by the
Prometheus (its selectors in the values), each checked against its CRD; and the facts the global view takes from
upstream templates (the Istio traffic annotations, the values kube-prometheus-stack passes on to its Prometheus)."""

import pytest
import yaml

import upstream_truth as truth
from lepton_infra.components.kubernetes import gpu_runtime, monitoring
from lepton_infra.kubernetes_schema import manifest
from lepton_infra.upstream_schemas import custom_resource_errors

from test_observe_stacks import STACK_NAMES, cell_plan, cells, spec_of  # the stacks' cells and their plans, as read there

RELEASE = "kubernetes:helm.sh/v3:Release"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"


def release(plan, chart):
    (found,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == chart]
    return found


def sample(kind):
    (found,) = [d for d in yaml.safe_load_all(truth.ISTIO_PROMETHEUS_OPERATOR_SAMPLE.read_text()) if d["kind"] == kind]
    return found


def selected(prometheus, kind, monitor):
    """Whether the Prometheus of these values selects ``monitor`` (its labels; every namespace)."""
    prefix = "podMonitor" if kind == "PodMonitor" else "serviceMonitor"
    assert prometheus[f"{prefix}SelectorNilUsesHelmValues"] is False
    assert prometheus[f"{prefix}NamespaceSelector"] == {}  # every namespace (values.yaml)
    return prometheus[f"{prefix}Selector"]["matchLabels"].items() <= monitor.inputs["metadata"]["labels"].items()


@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_every_cell_scrapes_every_sidecars_and_gateways_envoy_stats_and_istiod(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    prometheus = release(plan, "kube-prometheus-stack").inputs["values"]["prometheus"]["prometheusSpec"]
    (envoy,) = [m for m in plan.of_type(POD_MONITOR) if m.inputs["metadata"]["name"] == "envoy-stats"]
    (istiod,) = plan.of_type(SERVICE_MONITOR)
    assert selected(prometheus, "PodMonitor", envoy) and selected(prometheus, "ServiceMonitor", istiod)
    # Istio's sample, but for the models' namespace, whose pods their own PodMonitors scrape (with model labels).
    expected = sample("PodMonitor")["spec"]
    spec = envoy.inputs["spec"]
    (endpoint,) = spec["podMetricsEndpoints"]
    (upstream,) = expected["podMetricsEndpoints"]
    skip, *rest = endpoint["relabelings"]
    assert skip == {"action": "drop", "sourceLabels": ["__meta_kubernetes_namespace"], "regex": "models"}
    assert rest == upstream["relabelings"]
    assert {k: v for k, v in endpoint.items() if k != "relabelings"} == {k: v for k, v in upstream.items() if k != "relabelings"}
    assert {k: v for k, v in spec.items() if k != "podMetricsEndpoints"} == {k: v for k, v in expected.items() if k != "podMetricsEndpoints"}
    assert istiod.inputs["spec"] == sample("ServiceMonitor")["spec"]


def test_the_models_namespace_the_mesh_monitor_skips_is_the_one_the_models_run_in(stack_plan):
    plan = stack_plan("prod")
    model_monitors = [m for m in plan.of_type(POD_MONITOR) if m.inputs["metadata"]["name"] != "envoy-stats"]
    assert model_monitors and {m.inputs["metadata"]["namespace"] for m in model_monitors} == {"models"}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_mesh_monitors_pass_their_vendored_crds(stack, stack_plan):
    monitors = stack_plan(stack).of_type(SERVICE_MONITOR) + [m for m in stack_plan(stack).of_type(POD_MONITOR) if m.inputs["metadata"]["name"] == "envoy-stats"]
    assert len(monitors) == 2 * len(spec_of(stack).cells)
    assert [e for m in monitors for e in custom_resource_errors(manifest(m), truth.crd_schemas())] == []


GPU_CELLS = [(stack, cell) for stack, cell in cells() if cell.gpu_pools]


@pytest.mark.parametrize("stack,cell", GPU_CELLS, ids=lambda v: getattr(v, "name", v))
def test_every_gpu_cell_has_the_dcgm_exporter_scraped_through_the_operators_service_monitor(stack, cell, stack_plan):
    """On every cloud, driver preinstalled (EKS, AKS, GKE) or not (existing): the exporter reads the GPUs through the
    driver wherever it came from; the operator makes its ServiceMonitor with the labels the Prometheus selects."""
    plan = cell_plan(stack_plan, stack, cell)
    values = release(plan, "gpu-operator").inputs["values"]
    exporter = values["dcgmExporter"]
    assert exporter["enabled"] is True and exporter["serviceMonitor"]["enabled"] is True
    prometheus = release(plan, "kube-prometheus-stack").inputs["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["serviceMonitorSelector"]["matchLabels"].items() <= exporter["serviceMonitor"]["additionalLabels"].items()


def test_the_dcgm_service_monitor_keys_are_the_gpu_operator_charts():
    chart = yaml.safe_load((truth.GPU_OPERATOR_DIR / "values.yaml").read_text())["dcgmExporter"]["serviceMonitor"]
    assert {"enabled", "additionalLabels"} <= set(chart)
    for preinstalled in (True, False):
        values = gpu_runtime.operator_values(preinstalled, service_monitor_labels=monitoring.SERVICE_MONITOR_LABELS)
        assert values["dcgmExporter"]["serviceMonitor"]["additionalLabels"] == monitoring.MONITOR_LABELS


# ----------------------------------------------------------------------------------------------- upstream templates
def lines(path):
    return {line.strip() for line in path.read_text().splitlines()}


def test_istios_injector_and_cni_read_the_traffic_annotations_a_meshed_prometheus_carries():
    template = lines(truth.ISTIO_INJECTION_TEMPLATE)
    for annotation in (monitoring.INCLUDE_INBOUND_PORTS, monitoring.INCLUDE_OUTBOUND_IP_RANGES, monitoring.INCLUDE_OUTBOUND_PORTS):
        # The istio-init arguments (or the CNI agent, from the pod annotations the same template writes).
        assert any(f"annotation .ObjectMeta `{annotation}`" in line and line.startswith("- ") for line in template), annotation
        assert any(line.startswith(f"{annotation}: ") or f"}}{annotation}: " in line for line in template), annotation


@pytest.mark.parametrize(
    "key,template_lines",
    [
        ("externalLabels", ["externalLabels:", "{{ tpl (toYaml .Values.prometheus.prometheusSpec.externalLabels | indent 4) . }}"]),
        ("enableRemoteWriteReceiver", ["enableRemoteWriteReceiver: {{ .Values.prometheus.prometheusSpec.enableRemoteWriteReceiver }}"]),
        ("remoteWrite", ["remoteWrite:", "{{ tpl (toYaml .Values.prometheus.prometheusSpec.remoteWrite | indent 4) . }}"]),
        ("scrapeClasses", ["{{- with .Values.prometheus.prometheusSpec.scrapeClasses }}", "scrapeClasses:", "{{- tpl (toYaml . | nindent 4) $ }}"]),
        ("podMetadata", ["podMetadata:", "{{ tpl (toYaml .Values.prometheus.prometheusSpec.podMetadata | indent 4) . }}"]),
        ("retention", ["retention: {{ .Values.prometheus.prometheusSpec.retention | quote  }}"]),
        ("retentionSize", ["retentionSize: {{ .Values.prometheus.prometheusSpec.retentionSize | quote }}"]),
    ],
)
def test_the_prometheus_values_checked_against_the_crd_are_passed_on_unchanged_by_the_charts_template(key, template_lines):
    assert key in truth.PROMETHEUS_PASSED_ON
    template = lines(truth.KUBE_PROMETHEUS_STACK_PROMETHEUS)
    for line in template_lines:
        assert line in template, f"the template no longer has the line {line!r}"


def test_every_key_checked_against_the_crd_is_found_in_the_template():
    text = truth.KUBE_PROMETHEUS_STACK_PROMETHEUS.read_text()
    assert all(f".Values.prometheus.prometheusSpec.{key}" in text for key in truth.PROMETHEUS_PASSED_ON)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_value_passed_through_tpl_holds_a_template_expression(stack, stack_plan):
    """The template runs remoteWrite, podMetadata, externalLabels and scrapeClasses through `tpl`: no {{ in ours."""
    for found in [r for r in stack_plan(stack).of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]:
        assert "{{" not in repr(found.inputs["values"])
