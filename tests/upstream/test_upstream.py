"""The dev and prod stacks checked against upstream's own files: every Istio and GPU-operator custom resource
against its CRD (strict: unknown fields refused, types and enums checked), every Helm release's values against its
chart's values.yaml (no key the chart does not have); the code's pinned versions equal the vendored ones; and a
wrong field fails, named by its path.
"""

import copy

import pytest

import upstream_truth as truth
from lepton_infra.components.aws.cluster_autoscaler import CHART_VERSION
from lepton_infra.kubernetes_schema import kubernetes_objects, manifest, schema_errors
from lepton_infra.spec import SEAWEEDFS_CHART_VERSION, GpuRuntimeSpec, LogsSpec, MeshSpec, MonitoringSpec
from lepton_infra.upstream_schemas import custom_resource_errors

from stack_support import STACKS, planned_stack

STACK_NAMES = sorted(path.name.split(".")[1] for path in STACKS.glob("Pulumi.*.yaml"))
RELEASE = "kubernetes:helm.sh/v3:Release"
KUBERNETES_VERSION = "1.35"  # only used to tell custom resources from typed objects (kubernetes-validate's schemas)


def custom_resources(stack: str):
    """The objects of a stack with no Kubernetes API schema: custom resources, which only their CRD can check."""
    return schema_errors(kubernetes_objects(planned_stack(stack)), KUBERNETES_VERSION)[1]


def releases(stack: str):
    return planned_stack(stack).of_type(RELEASE)


def emitted(stack: str, type_: str) -> dict:
    """The manifest of the first object of ``type_`` in ``stack`` (numbers as ints), a copy to corrupt: the mesh's and
    the models' (the global metrics view's Istio objects in `monitoring` have other shapes; tests/observe corrupts them)."""
    return manifest(next(o for o in planned_stack(stack).of_type(type_) if o.inputs["metadata"].get("namespace") != "monitoring"))


def test_there_are_stacks_to_check():
    assert STACK_NAMES == ["dev", "local", "prod", "staging"]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_custom_resource_passes_its_vendored_crd_strictly(stack):
    objects = custom_resources(stack)
    kinds = {(o.inputs["apiVersion"], o.inputs["kind"]) for o in objects}
    assert {"networking.istio.io/v1", "security.istio.io/v1"} <= {api for api, _ in kinds}, kinds
    assert {
        ("keda.sh/v1alpha1", "ScaledObject"), ("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"),
    } <= kinds, kinds
    errors = [f"{o.type} {o.name}: {e}" for o in objects for e in custom_resource_errors(manifest(o), truth.crd_schemas())]
    assert errors == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_helm_release_sets_only_values_its_chart_has(stack):
    assert releases(stack)
    errors = [f"{r.inputs['chart']}: {e}" for r in releases(stack) for e in truth.chart_of(r.inputs).errors(r.inputs["values"])]
    assert errors == []


def test_the_versions_the_code_pins_are_the_vendored_ones():
    assert MeshSpec().istio_version == truth.ISTIO
    assert GpuRuntimeSpec().gpu_operator_version == truth.GPU_OPERATOR
    assert CHART_VERSION == truth.CLUSTER_AUTOSCALER
    assert SEAWEEDFS_CHART_VERSION == truth.SEAWEEDFS
    assert MonitoringSpec().chart_version == truth.KUBE_PROMETHEUS_STACK
    assert MonitoringSpec().keda_version == truth.KEDA
    assert LogsSpec().chart_version == truth.OTEL_COLLECTOR


def test_the_vendored_charts_are_the_versions_their_folders_name():
    for version, chart_yaml in truth.CHART_YAMLS.items():
        assert f"\nversion: {version}\n" in chart_yaml.read_text(), chart_yaml


def test_the_stacks_install_exactly_the_vendored_charts_at_their_versions():
    """A stack that overrides a version, or a chart nobody installs any more, shows here."""
    installed = {(r.inputs["chart"], r.inputs["version"]) for stack in STACK_NAMES for r in releases(stack)}
    assert installed == set(truth.CHARTS)


def test_every_vendored_folder_has_source_and_license_and_only_files_the_registry_reads():
    folders = sorted(p for p in truth.HERE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted({
        truth.ISTIO_DIR, truth.GPU_OPERATOR_DIR, truth.CLUSTER_AUTOSCALER_DIR, truth.SEAWEEDFS_DIR,
        truth.KUBE_PROMETHEUS_STACK_DIR, truth.KEDA_DIR, truth.KUBE_STATE_METRICS_DIR, truth.DCGM_EXPORTER_DIR,
        truth.ISTIO_DOCS_DIR, truth.OTEL_COLLECTOR_DIR,
    })
    for folder in folders:
        assert (folder / "SOURCE").read_text().strip() and "Apache License" in (folder / "LICENSE").read_text()
    vendored = {p for folder in folders for p in folder.rglob("*") if p.is_file() and p.name not in ("SOURCE", "LICENSE")}
    assert vendored == truth.vendored_files()


# --------------------------------------------------------------------------------------------------- wrong fields
def put(obj: dict, path: tuple, value) -> dict:
    """``obj`` with ``value`` at ``path`` (keys and list indexes), set in place."""
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    "type_,path,value,expected",
    [
        ("kubernetes:security.istio.io/v1:PeerAuthentication", ("spec", "mtls", "mode"), "STRIKT", "spec.mtls.mode: 'STRIKT' is not one of"),
        ("kubernetes:security.istio.io/v1:PeerAuthentication", ("spec", "mtls", "mdoe"), "STRICT", "spec.mtls.mdoe: unknown field"),
        # The classic silent drop: `namespace` for `namespaces` would admit nobody had the API server pruned it.
        ("kubernetes:security.istio.io/v1:AuthorizationPolicy", ("spec", "rules", 0, "from", 0, "source", "namespace"), "models", "spec.rules[0].from[0].source.namespace: unknown field"),
        ("kubernetes:security.istio.io/v1:AuthorizationPolicy", ("spec", "action"), "PERMIT", "spec.action: 'PERMIT' is not one of"),
        ("kubernetes:networking.istio.io/v1:VirtualService", ("spec", "http", 0, "route", 0, "destination", "port", "numbr"), 80, "spec.http[0].route[0].destination.port.numbr: unknown field"),
        ("kubernetes:networking.istio.io/v1:VirtualService", ("spec", "http", 0, "route", 0, "weight"), "90", "spec.http[0].route[0].weight: '90' is not of type 'integer'"),
        ("kubernetes:networking.istio.io/v1:DestinationRule", ("spec", "trafficPolicy", "tls", "mode"), "MUTUAL_ISTIO", "spec.trafficPolicy.tls.mode: 'MUTUAL_ISTIO' is not one of"),
        ("kubernetes:networking.istio.io/v1:DestinationRule", ("spec", "subsets", 0, "label"), {"version": "v1"}, "spec.subsets[0].label: unknown field"),
    ],
    ids=["mtls-enum", "mtls-misspelt", "authz-namespace", "authz-action", "vs-port", "vs-weight-type", "dr-tls-enum", "dr-subset-misspelt"],
)
def test_an_emitted_istio_object_with_a_wrong_field_is_refused_naming_the_field(type_, path, value, expected):
    obj = emitted("prod", type_)
    assert custom_resource_errors(obj, truth.crd_schemas()) == []
    errors = custom_resource_errors(put(copy.deepcopy(obj), path, value), truth.crd_schemas())
    assert any(e.startswith(expected) for e in errors), errors


# The platform emits no nvidia.com object today (it configures the operator through the chart's values, checked
# above); an NVIDIADriver built from the chart's own driver defaults pins that the GPU-operator CRDs are loaded and
# strict, for the day it does.
NVIDIA_DRIVER = {
    "apiVersion": "nvidia.com/v1alpha1",
    "kind": "NVIDIADriver",
    "metadata": {"name": "default"},
    "spec": {"driverType": "gpu", "repository": "nvcr.io/nvidia", "image": "driver", "version": "580.105.08", "usePrecompiled": False},
}


@pytest.mark.parametrize(
    "path,value,expected",
    [
        (("spec", "driverType"), "gpus", "spec.driverType: 'gpus' is not one of"),
        (("spec", "usePrecompiled"), "yes", "spec.usePrecompiled: 'yes' is not of type 'boolean'"),
        (("spec", "imagee"), "driver", "spec.imagee: unknown field"),
    ],
    ids=["enum", "type", "misspelt"],
)
def test_a_gpu_operator_object_with_a_wrong_field_is_refused_naming_the_field(path, value, expected):
    assert custom_resource_errors(NVIDIA_DRIVER, truth.crd_schemas()) == []
    errors = custom_resource_errors(put(copy.deepcopy(NVIDIA_DRIVER), path, value), truth.crd_schemas())
    assert any(e.startswith(expected) for e in errors), errors


def test_a_cluster_policy_needs_its_operands_and_refuses_an_unknown_one():
    """ClusterPolicy is the object the operator's chart renders from its values: its required operands are checked."""
    policy = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"drvier": {}}}
    errors = custom_resource_errors(policy, truth.crd_schemas())
    assert "spec.drvier: unknown field (known here: ccManager, cdi, daemonsets, dcgm, dcgmExporter, devicePlugin, driver, gdrcopy, gds, gfd, hostPaths, kataManager, ... (13 more))" in errors
    assert any(e.startswith("spec: 'driver' is a required property") for e in errors), errors


def release_values(stack: str, chart: str) -> dict:
    # A cell of several may install a chart twice (the gateway chart: ingress and east-west gateways): the first by name.
    release = min((r for r in releases(stack) if r.inputs["chart"] == chart and r.name.startswith(f"{stack}-aws-use1-")), key=lambda r: r.name)
    return copy.deepcopy(dict(release.inputs["values"]))


@pytest.mark.parametrize(
    "chart,path,value,expected",
    [
        ("istiod", ("pilot", "autoscaleMinn"), 2, "pilot.autoscaleMinn: unknown value key"),
        ("istiod", ("global", "multiCluster", "clusterNmae"), "x", "global.multiCluster.clusterNmae: unknown value key"),
        ("istiod", ("meshconfig",), {}, "meshconfig: unknown value key"),
        ("gateway", ("autoscaling", "minReplica"), 2, "autoscaling.minReplica: unknown value key"),
        ("gateway", ("autoscaling", "minReplicas"), "2", "autoscaling.minReplicas: '2' is not of type 'integer'"),  # values.schema.json
        ("cni", ("cniBinDri",), "/opt/cni/bin", "cniBinDri: unknown value key"),
        ("gpu-operator", ("driver", "enabeld"), False, "driver.enabeld: unknown value key"),
        ("gpu-operator", ("dcgm-exporter",), {"enabled": True}, "dcgm-exporter: unknown value key"),
        ("cluster-autoscaler", ("autoDiscovery", "clusterNmae"), "c", "autoDiscovery.clusterNmae: unknown value key"),
        ("cluster-autoscaler", ("rbac", "serviceAccount", "annotation"), {}, "rbac.serviceAccount.annotation: unknown value key"),
        ("kube-prometheus-stack", ("prometheus", "prometheusSpec", "retentionTime"), "15d", "prometheus.prometheusSpec.retentionTime: unknown value key"),
        ("kube-prometheus-stack", ("prometheus", "prometheusSpec", "podMonitorSelectorNilUsesHelmValue"), False, "prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValue: unknown value key"),
        ("keda", ("clustername",), "c", "clustername: unknown value key"),
    ],
    ids=["istiod-pilot", "istiod-global", "istiod-case", "gateway-key", "gateway-schema-type", "cni", "gpu-operator", "gpu-operator-top", "autoscaler", "autoscaler-deep", "prometheus", "prometheus-selector", "keda"],
)
def test_an_unknown_helm_value_key_is_refused_naming_its_path(chart, path, value, expected):
    values = release_values("prod", chart)
    release = {"chart": chart, "version": next(v for c, v in truth.CHARTS if c == chart)}
    assert truth.chart_of(release).errors(values) == []
    errors = truth.chart_of(release).errors(put(values, path, value))
    assert any(e.startswith(expected) for e in errors), errors


def test_a_release_of_a_chart_or_version_not_vendored_is_refused_naming_it():
    with pytest.raises(LookupError, match=r"no vendored values.yaml for chart istiod 1.29.0"):
        truth.chart_of({"chart": "istiod", "version": "1.29.0"})
