"""Which pinned upstream file is the truth for which Helm chart and CRD: the one map the upstream tests read.

The files sit beside this module, one folder per upstream release (<name>-<version>, with SOURCE and LICENSE);
tests/upstream/README.md says how to refresh them when a version is bumped. The few rules a values.yaml does not
say itself (where a chart keeps its defaults, keys it merges in elsewhere, mappings it passes on whole) are written
here, each with where it comes from.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, Mapping

from lepton_infra.upstream_schemas import chart_defaults, custom_resource_errors, load_crd_schemas, schema_errors, unknown_values

HERE = Path(__file__).resolve().parent

# The versions vendored here; the code's pins must equal them (test_upstream.py checks).
ISTIO = "1.28.0"
GPU_OPERATOR = "v25.10.1"
CLUSTER_AUTOSCALER = "9.59.0"
SEAWEEDFS = "4.44.0"  # the chart's version (Chart.yaml); the folder is named by the release tag, 4.44
KUBE_PROMETHEUS_STACK = "88.5.3"
KEDA = "2.20.2"  # the chart's version; the folder is named by the release tag, v2.20.2
KUBE_STATE_METRICS = "8.4.0"  # kube-prometheus-stack's subchart (its Chart.yaml pins it); the app is v2.20.0
DCGM_EXPORTER = "4.4.2-4.7.0"  # the image tag the GPU operator chart pins (values.yaml dcgmExporter.version)
OTEL_COLLECTOR = "0.170.0"  # the opentelemetry-collector chart's version (tag opentelemetry-collector-0.170.0)

ISTIO_DIR = HERE / f"istio-{ISTIO}"
GPU_OPERATOR_DIR = HERE / f"gpu-operator-{GPU_OPERATOR}"
CLUSTER_AUTOSCALER_DIR = HERE / f"cluster-autoscaler-chart-{CLUSTER_AUTOSCALER}"
SEAWEEDFS_DIR = HERE / "seaweedfs-4.44"
KUBE_PROMETHEUS_STACK_DIR = HERE / f"kube-prometheus-stack-{KUBE_PROMETHEUS_STACK}"
KEDA_DIR = HERE / f"keda-v{KEDA}"
KUBE_STATE_METRICS_DIR = HERE / f"kube-state-metrics-{KUBE_STATE_METRICS}"
DCGM_EXPORTER_DIR = HERE / f"dcgm-exporter-{DCGM_EXPORTER}"
ISTIO_DOCS_DIR = HERE / "istio-io-0d3a9e8"
OTEL_COLLECTOR_DIR = HERE / f"opentelemetry-collector-{OTEL_COLLECTOR}"
# Each chart's Chart.yaml: test_upstream.py checks its version is the pin (the folder holds what it says it does).
CHART_YAMLS: dict[str, Path] = {
    KUBE_PROMETHEUS_STACK: KUBE_PROMETHEUS_STACK_DIR / "Chart.yaml",
    KEDA: KEDA_DIR / "Chart.yaml",
    KUBE_STATE_METRICS: KUBE_STATE_METRICS_DIR / "Chart.yaml",
    OTEL_COLLECTOR: OTEL_COLLECTOR_DIR / "Chart.yaml",
}

# Chart templates (and one Istio sample) for the facts the code takes from what a chart renders rather than from its
# values.yaml: object names, fixed ports, labels, RBAC rules. test_upstream_templates.py reads them.
ISTIO_READER_CLUSTERROLE = ISTIO_DIR / "charts" / "istiod" / "templates" / "reader-clusterrole.yaml"
ISTIO_GATEWAY_TEMPLATES = ISTIO_DIR / "charts" / "gateway" / "templates"
ISTIO_EXPOSE_SERVICES = ISTIO_DIR / "samples" / "multicluster" / "expose-services.yaml"
# Istio's prometheus-operator sample (the mesh's PodMonitor and istiod's ServiceMonitor) and the sidecar injection
# template (the traffic annotations a meshed Prometheus carries).
ISTIO_PROMETHEUS_OPERATOR_SAMPLE = ISTIO_DIR / "samples" / "addons" / "extras" / "prometheus-operator.yaml"
ISTIO_INJECTION_TEMPLATE = ISTIO_DIR / "charts" / "istiod" / "files" / "injection-template.yaml"
# kube-prometheus-stack's Prometheus resource: which prometheusSpec values it passes on unchanged (PROMETHEUS_PASSED_ON).
KUBE_PROMETHEUS_STACK_PROMETHEUS = KUBE_PROMETHEUS_STACK_DIR / "templates" / "prometheus" / "prometheus.yaml"
SEAWEEDFS_CHART_YAML = SEAWEEDFS_DIR / "Chart.yaml"
SEAWEEDFS_TEMPLATES = SEAWEEDFS_DIR / "templates"
TEMPLATES: tuple[Path, ...] = (
    ISTIO_READER_CLUSTERROLE,
    *(ISTIO_GATEWAY_TEMPLATES / name for name in ("_helpers.tpl", "deployment.yaml", "service.yaml")),
    ISTIO_EXPOSE_SERVICES,
    ISTIO_PROMETHEUS_OPERATOR_SAMPLE,
    ISTIO_INJECTION_TEMPLATE,
    KUBE_PROMETHEUS_STACK_PROMETHEUS,
    SEAWEEDFS_CHART_YAML,
    *(SEAWEEDFS_TEMPLATES / name for name in ("shared/_helpers.tpl", "s3/s3-deployment.yaml", "s3/s3-secret.yaml", "s3/s3-service.yaml")),
)

# What the platform's exporters export, by name: the dashboards' and alert rules' queries may use only these (and the
# serving process's own /metrics). tests/observe/test_observe_dashboards_metrics.py reads them.
# DCGM exporter's default counters (the GPU operator runs it without a counters file of its own).
DCGM_COUNTERS = DCGM_EXPORTER_DIR / "default-counters.csv"
# Istio's "Istio Standard Metrics" page (istio.io/latest/docs/reference/config/metrics/), from the istio.io repository.
ISTIO_STANDARD_METRICS = ISTIO_DOCS_DIR / "metrics.md"
# kube-state-metrics' metric tables for the objects the platform's queries read (nodes, pods, deployments).
KUBE_STATE_METRICS_DOCS: tuple[Path, ...] = tuple(
    KUBE_STATE_METRICS_DIR / "docs" / doc for doc in ("cluster/node-metrics.md", "workload/pod-metrics.md", "workload/deployment-metrics.md")
)
METRIC_DOCS: tuple[Path, ...] = (DCGM_COUNTERS, ISTIO_STANDARD_METRICS, *KUBE_STATE_METRICS_DOCS)

# Istio's charts keep their defaults under this key and merge it into .Values (the comment atop each values.yaml).
ISTIO_DEFAULTS = "_internal_defaults_do_not_set"


@dataclass(frozen=True)
class Chart:
    """One pinned chart: its values.yaml and what the checker must know beyond it."""

    values_yaml: Path
    root: str | None = None  # the key the defaults sit under, when not the top level
    free_form: tuple[tuple[str, ...], ...] = ()  # mappings the chart passes on whole: anything below goes
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # top-level keys merged in at another path
    values_schema: Path | None = None  # the chart's values.schema.json, which Helm itself validates values against
    read_without_default: tuple[tuple[str, ...], ...] = ()  # keys the chart's templates read that values.yaml omits
    subcharts: Mapping[str, Path] = field(default_factory=dict)  # subchart key -> its own values.yaml (vendored)
    # Checks of what the chart renders from the values into a custom resource (its CRD beyond values.yaml).
    rendered_checks: tuple[Callable[[Mapping[str, Any]], list[str]], ...] = ()

    def errors(self, values: Mapping[str, Any]) -> list[str]:
        """Every way ``values`` is not what this chart reads ([] when all is known)."""
        defaults = copy.deepcopy(chart_defaults(self.values_yaml, self.root))
        for *parents, key in self.read_without_default:
            node = defaults
            for parent in parents:
                node = node.setdefault(parent, {})
            node[key] = None  # no default: any value the templates accept
        for key, subchart_values in self.subcharts.items():
            # Helm hands a subchart the parent's values under its name, merged over the subchart's own defaults.
            defaults[key] = merged(copy.deepcopy(chart_defaults(subchart_values, None)), defaults.get(key) or {})
        errors = unknown_values(values, defaults, free_form=self.free_form, aliases=self.aliases)
        if self.values_schema is not None:
            # The schema keeps its definitions under $defs (a draft 2019-09+ keyword): 2020-12 reads it.
            errors += schema_errors(dict(values), json.loads(self.values_schema.read_text()), draft="2020-12")
        for check in self.rendered_checks:
            errors += check(values)
        return errors

    def files(self) -> set[Path]:
        return {self.values_yaml, *self.subcharts.values()} | ({self.values_schema} if self.values_schema else set())


def merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base`` key by key, descending into mappings both have (as Helm merges values)."""
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merged(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


# prometheus.prometheusSpec keys kube-prometheus-stack's templates/prometheus/prometheus.yaml copies unchanged into the
# Prometheus resource's spec field of the same name (toYaml or the value itself): so the CRD's schema checks them too,
# beyond values.yaml, whose defaults ([] and {}) leave everything below them free-form.
PROMETHEUS_PASSED_ON = (
    "externalLabels", "enableRemoteWriteReceiver", "remoteWrite", "scrapeClasses", "podMetadata", "retention", "retentionSize",
)
PROMETHEUS = ("monitoring.coreos.com/v1", "Prometheus")


def prometheus_spec_errors(values: Mapping[str, Any]) -> list[str]:
    """Every way the Prometheus resource kube-prometheus-stack renders from ``values`` breaks the Prometheus CRD, in
    the keys it passes on unchanged (PROMETHEUS_PASSED_ON)."""
    given = values.get("prometheus", {}).get("prometheusSpec", {})
    spec = {key: given[key] for key in PROMETHEUS_PASSED_ON if key in given}
    obj = {"apiVersion": PROMETHEUS[0], "kind": PROMETHEUS[1], "metadata": {"name": "prometheus"}, "spec": spec}
    return custom_resource_errors(obj, crd_schemas())


def _istio_chart(name: str, **rules: Any) -> Chart:
    return Chart(ISTIO_DIR / "charts" / name / "values.yaml", root=ISTIO_DEFAULTS, **rules)


# (chart, version) as a helm.v3.Release names them -> the pinned chart.
CHARTS: dict[tuple[str, str], Chart] = {
    ("base", ISTIO): _istio_chart("base"),
    ("cni", ISTIO): _istio_chart(
        "cni",
        # Istio's "Platform-Specific Prerequisites" page (istio.io/latest/docs/ambient/install/platform-prerequisites)
        # installs the cni chart on GKE with --set global.platform=gke: the chart's templates read it to merge their
        # platform profile (CNI bin dir /home/kubernetes/bin), though values.yaml declares no default for it.
        read_without_default=(("global", "platform"),),
    ),
    ("istiod", ISTIO): _istio_chart(
        "istiod",
        # istiod copies `pilot.*` to the top level (istio-discovery templates/zzy_descope_legacy.yaml:
        # `mustMergeOverwrite $.Values (index $.Values "pilot")`), so pilot's keys are the top level's.
        aliases={"pilot": ()},
        # A MeshConfig, passed whole to the mesh config map; values.yaml: "See
        # https://istio.io/docs/reference/config/istio.mesh.v1alpha1/ for all available options".
        free_form=(("meshConfig",),),
    ),
    ("gateway", ISTIO): _istio_chart("gateway", values_schema=ISTIO_DIR / "charts" / "gateway" / "values.schema.json"),
    ("gpu-operator", GPU_OPERATOR): Chart(GPU_OPERATOR_DIR / "values.yaml"),
    ("cluster-autoscaler", CLUSTER_AUTOSCALER): Chart(
        CLUSTER_AUTOSCALER_DIR / "values.yaml",
        # Command-line flags of the autoscaler, each key passed as --key=value; values.yaml lists some commented
        # out and points at the FAQ's "What are the parameters to CA?" for all of them.
        free_form=(("extraArgs",),),
    ),
    ("kube-prometheus-stack", KUBE_PROMETHEUS_STACK): Chart(
        KUBE_PROMETHEUS_STACK_DIR / "values.yaml",
        rendered_checks=(prometheus_spec_errors,),
        # Chart.yaml's dependencies: kube-state-metrics 8.4.0, whose own keys (metricLabelsAllowlist) the parent's
        # values.yaml does not list.
        subcharts={"kube-state-metrics": KUBE_STATE_METRICS_DIR / "values.yaml"},
    ),
    ("keda", KEDA): Chart(KEDA_DIR / "values.yaml"),
    # The platform sets the collector's configuration as alternateConfig, whose default is {}: free-form below.
    ("opentelemetry-collector", OTEL_COLLECTOR): Chart(OTEL_COLLECTOR_DIR / "values.yaml"),
    ("seaweedfs", SEAWEEDFS): Chart(
        SEAWEEDFS_DIR / "values.yaml",
        # values.yaml documents both only as comments under `s3:` ("Optionally provide explicit credentials for the S3
        # gateway ... credentials: admin: existingSecret ..."; "You may specify buckets to be created during the
        # install or upgrade process ... createBuckets:"), so they have no default to check below.
        read_without_default=(("s3", "credentials"), ("s3", "createBuckets")),
    ),
}

# Every CRD file vendored; each served (apiVersion, kind) in them is checked strictly.
CRD_FILES: tuple[Path, ...] = (
    ISTIO_DIR / "crd-all.gen.yaml",
    GPU_OPERATOR_DIR / "nvidia.com_clusterpolicies.yaml",
    GPU_OPERATOR_DIR / "nvidia.com_nvidiadrivers.yaml",
    # The Prometheus operator's CRDs the platform emits objects of (the chart's charts/crds/crds/), and KEDA's.
    KUBE_PROMETHEUS_STACK_DIR / "crd-podmonitors.yaml",
    KUBE_PROMETHEUS_STACK_DIR / "crd-servicemonitors.yaml",
    KUBE_PROMETHEUS_STACK_DIR / "crd-prometheusrules.yaml",
    # The Prometheus resource the chart renders from prometheus.prometheusSpec (prometheus_spec_errors).
    KUBE_PROMETHEUS_STACK_DIR / "crd-prometheuses.yaml",
    KEDA_DIR / "keda.sh_scaledobjects.yaml",
)



@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """{(apiVersion, kind): strict schema} of every CRD vendored here (loaded once: crd-all.gen.yaml is large)."""
    return load_crd_schemas(*CRD_FILES)


def chart_of(release_inputs: Mapping[str, Any]) -> Chart:
    """The pinned chart a helm.v3.Release's inputs install; a LookupError names what is pinned when none is."""
    key = (release_inputs["chart"], release_inputs["version"])
    if key not in CHARTS:
        raise LookupError(f"no vendored values.yaml for chart {key[0]} {key[1]} (vendored: {sorted(CHARTS)}); see tests/upstream/README.md")
    return CHARTS[key]


def vendored_files() -> set[Path]:
    """Every file the registry reads."""
    return set(CRD_FILES).union(TEMPLATES, CHART_YAMLS.values(), METRIC_DOCS, *(chart.files() for chart in CHARTS.values()))
