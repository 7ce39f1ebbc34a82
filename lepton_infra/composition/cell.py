"""One cell: a cloud region's foundation, then the cloud-neutral in-cluster layer on top of it.

A cell is split in two so clouds share everything above the cluster (docs/design.md, "Cells"):
- the *foundation* (per cloud, components/<cloud>/cell.py): network, cluster, GPU pools, data lake, registry, and a
  way to bind a model's pod to a cloud identity that may read the lake's models zone;
- the *in-cluster* part (every cloud): serving image, NVIDIA GPU runtime, Istio mesh, model deployments, configured
  from the foundation's capabilities rather than from the cloud's name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pulumi

from ..cell_contract import CellFoundation
from ..components.kubernetes.alert_rules import AlertRules
from ..components.kubernetes.dashboards import GrafanaDashboards
from ..components.kubernetes.gpu_runtime import NvidiaGpuRuntime
from ..components.kubernetes.keda import Keda
from ..components.kubernetes.log_collector import NAMESPACE as LOGS_NAMESPACE, SERVICE_ACCOUNT as LOG_COLLECTOR, LogCollector
from ..components.kubernetes.mesh import EASTWEST_SELECTOR, IstioMesh, MeshMember
from ..components.kubernetes.mesh_ca import PluggedCa
from ..components.kubernetes.model_deployment import (
    GRPC_PORT,
    PORT as SERVING_PORT,
    TOKEN as MODEL_TOKEN,
    ModelDeployment,
    models_namespace,
    registry_pull_secret,
)
from ..components.kubernetes.monitoring import NAMESPACE as MONITORING_NAMESPACE, SERVICE_MONITOR_LABELS, Monitoring
from ..components.kubernetes.network_policy import ModelsNetworkPolicy
from ..components.kubernetes.serving_image import ServingImage, packaged_context
from ..spec import (
    CONFIG_NAMESPACE,
    REMOTE_WRITE_CREDENTIALS_KEY,
    CellSpec,
    GlobalMetricsRemoteWriteSpec,
    ModelSpec,
    PlatformSpec,
    SpecError,
    parse_model,
)
from .foundations import foundation_builder

TOKEN = "lepton:platform:Cell"
# Before a Platform held the cells, each cell was a top-level component of this type, named as the cell is now.
TYPE_BEFORE_PLATFORM = "lepton:platform:Platform"
MODELS_NAMESPACE = "models"
REGISTRY_PULL_SECRET = "registry-pull"  # in the models namespace, when the cell's registry needs one to pull
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"


class Cell(pulumi.ComponentResource):
    """Everything one cell of the spec stands up: ``Cell("prod-aws-use1", spec, cell="aws-use1")``."""

    foundation: CellFoundation
    gpu_runtime: NvidiaGpuRuntime | None
    cluster_name: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    models_uri: pulumi.Output[str]
    mesh_member: MeshMember | None  # in a mesh across cells: what the other cells' istiods need to watch this cluster
    monitoring: Monitoring | None  # kube-prometheus-stack, unless the spec turns monitoring off
    keda: Keda | None  # scales the models on serving metrics from that Prometheus
    alert_rules: AlertRules | None  # the cell's alerts, loaded by that Prometheus
    dashboards: GrafanaDashboards | None  # serving, GPU and mesh dashboards for that Prometheus's Grafana
    logs: LogCollector | None  # ships container logs where the foundation says, unless there is nowhere to ship them

    def __init__(
        self,
        name: str,
        spec: PlatformSpec | Mapping[str, Any],
        cell: str | None = None,
        build_context: str | Path | None = None,
        opts: pulumi.ResourceOptions | None = None,
        mesh_ca: PluggedCa | None = None,
    ):
        """``mesh_ca``: this cell's intermediate of the mesh's root CA, when the mesh spans several cells (Platform)."""
        spec = parse_model(PlatformSpec, spec)
        cell_spec = pick_cell(spec, cell)
        context = build_context_of(build_context)
        self._protected = spec.protected
        build_foundation = foundation_builder(cell_spec.cloud)
        global_view = global_view_args(spec, cell_spec)
        super().__init__(TOKEN, name, None, opts)

        self.foundation = f = build_foundation(self, name, spec, cell_spec)
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": f.kubernetes_provider}, depends_on=f.ready)
        self.image = ServingImage(
            f"{name}-serving-image",
            {
                "context": str(context),
                "variant": cell_spec.registry.build_variant,
                "repository_url": f.registry.repository_url,
                "tag": cell_spec.registry.image_tag,
                "registry": f.registry.credentials,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A cell without GPU pools (CPU-only models on an existing cluster) has no GPU for the operator to run.
        self.gpu_runtime = None
        if cell_spec.gpu_pools:
            self.gpu_runtime = NvidiaGpuRuntime(
                f"{name}-gpu-runtime",
                {
                    "spec": cell_spec.gpu_runtime,
                    "driver_preinstalled": f.capabilities.gpu_driver_preinstalled,
                    "device_plugin_preinstalled": f.capabilities.gpu_device_plugin_preinstalled,
                    # The DCGM exporter is scraped by the cell's Prometheus, when it has one.
                    "service_monitor_labels": SERVICE_MONITOR_LABELS if cell_spec.monitoring.enabled else None,
                },
                opts=in_cluster,
            )
        self.mesh = IstioMesh(
            f"{name}-mesh",
            {
                "spec": cell_spec.mesh,
                "internal_load_balancer_annotations": dict(f.capabilities.internal_load_balancer_annotations),
                "cni_platform": f.capabilities.istio_cni_platform,
                "cluster_name": cell_spec.name,
                "network": f"{cell_spec.name}-network",
                "multi_cluster": {"ca": mesh_ca} if mesh_ca else None,
            },
            opts=in_cluster,
        )
        self.mesh_member = None
        if mesh_ca:
            if f.api_endpoint is None or f.certificate_authority is None:
                raise SpecError(
                    [("cells", f"the {f.cloud} cell {cell_spec.name!r} gives no API endpoint and CA, which a mesh across cells needs")],
                    "Cell",
                )
            self.mesh_member = MeshMember(
                cluster_name=cell_spec.name,
                api_endpoint=f.api_endpoint,
                certificate_authority=f.certificate_authority,
                reader_token=self.mesh.reader_token,
                provider=f.kubernetes_provider,
                ready=self.mesh.member_ready,
            )
        # Metrics and the autoscaler that reads them (docs/design.md, "Observability"); the models' PodMonitor and
        # ScaledObject need both charts' CRDs, so the models wait for them. Prometheus waits for the mesh: the mesh's
        # monitors and the global view's Istio objects need its CRDs, and a meshed Prometheus gets its sidecar only
        # from a running injector.
        self.monitoring = self.keda = self.alert_rules = self.dashboards = None
        models = spec.models_for(cell_spec)
        if cell_spec.monitoring.enabled:
            self.monitoring = Monitoring(
                f"{name}-monitoring",
                {
                    "spec": cell_spec.monitoring,
                    "cell": cell_spec.name,
                    "cloud": cell_spec.cloud,
                    "models_namespace": MODELS_NAMESPACE,
                    **global_view,
                },
                opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[self.mesh])),
            )
            self.keda = Keda(f"{name}-keda", {"spec": cell_spec.monitoring, "cell": cell_spec.name}, opts=in_cluster)
            self.alert_rules = AlertRules(
                f"{name}-alerts",
                {"cell": cell_spec.name, "models": models, "models_namespace": MODELS_NAMESPACE, "namespace": self.monitoring.namespace},
                opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[self.monitoring])),
            )
            self.dashboards = GrafanaDashboards(
                f"{name}-dashboards", {"cell": cell_spec.name, "namespace": self.monitoring.namespace}, opts=in_cluster
            )
        self.logs = self._logs(name, cell_spec, in_cluster)
        runtime = [self.gpu_runtime] if self.gpu_runtime else []
        metrics = [self.monitoring, self.keda] if self.monitoring and self.keda else []
        serving_opts = pulumi.ResourceOptions.merge(
            in_cluster, pulumi.ResourceOptions(depends_on=[self.mesh, *runtime, *metrics])
        )
        if models:
            # The cell owns the models' namespace: removing any model must never move (and so delete) it.
            namespace = self._models_namespace(name, models, in_cluster)
            before_models: list[pulumi.Resource] = [namespace]
            if f.registry.pull_credentials is not None:
                # The nodes cannot pull from this registry on their own: the models pull with this Secret.
                before_models.append(registry_pull_secret(
                    f"{name}-{REGISTRY_PULL_SECRET}", REGISTRY_PULL_SECRET, namespace.metadata.name,
                    f.registry.pull_credentials, pulumi.ResourceOptions(parent=self, provider=f.kubernetes_provider),
                ))
            self._network_policy(name, models, mesh_ca is not None, namespace, in_cluster)
            serving_opts = pulumi.ResourceOptions.merge(serving_opts, pulumi.ResourceOptions(depends_on=before_models))
        # A model served in several cells fails over between them across the mesh.
        self.models = {model.name: self._model(name, model, serving_opts, len(spec.cells_of(model)) > 1) for model in models}

        self.cluster_name = f.cluster_name
        self.image_ref = self.image.ref
        self.models_uri = f.models_uri
        self.register_outputs({"cluster_name": self.cluster_name, "image_ref": self.image_ref, "models_uri": self.models_uri})

    def _network_policy(
        self, name: str, models: list[ModelSpec], meshed_cells: bool, namespace: pulumi.Resource, opts: pulumi.ResourceOptions
    ) -> ModelsNetworkPolicy:
        """Deny by default in the models namespace, and allow what serving needs (docs/design.md, "Model serving").
        The models do not wait for it: it holds one policy per model, and no model waits for another's."""
        return ModelsNetworkPolicy(
            f"{name}-{MODELS_NAMESPACE}-network",
            {
                "namespace": MODELS_NAMESPACE,
                "callers": {m.name: m.callers for m in models},
                "serving_ports": [SERVING_PORT, GRPC_PORT],
                "east_west_gateway": EASTWEST_SELECTOR if meshed_cells else None,
                "monitoring_namespace": MONITORING_NAMESPACE if self.monitoring else None,
                "egress": list(self.foundation.capabilities.model_egress),
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])),
        )

    def _logs(self, name: str, cell_spec: CellSpec, opts: pulumi.ResourceOptions) -> LogCollector | None:
        """The cell's log collector, writing as the identity the foundation binds to its service account; None when
        the spec turns logs off or the foundation has nowhere to send them (docs/design.md, "Observability")."""
        f = self.foundation
        if not cell_spec.logs.enabled or f.bind_log_writer is None:
            return None
        destination = f.bind_log_writer(LOGS_NAMESPACE, LOG_COLLECTOR)
        if destination is None:
            return None
        return LogCollector(
            f"{name}-logs",
            {"spec": cell_spec.logs, "cell": cell_spec.name, "cloud": cell_spec.cloud, "destination": destination},
            opts=opts,
        )

    def _models_namespace(self, name: str, models: list[ModelSpec], opts: pulumi.ResourceOptions):
        # Earlier releases let the cell's first model create the namespace as its child "<model>-ns", when the cell
        # was a top-level component: alias every model's old child, so an existing stack adopts the namespace in place
        # instead of replacing (deleting) it.
        cell_before = pulumi.create_urn(name, TYPE_BEFORE_PLATFORM)
        previous = [
            pulumi.create_urn(f"{name}-{m.name}-ns", NAMESPACE_TYPE, parent=pulumi.create_urn(f"{name}-{m.name}", MODEL_TOKEN, parent=cell_before))
            for m in models
        ]
        return models_namespace(
            f"{name}-{MODELS_NAMESPACE}-ns",
            MODELS_NAMESPACE,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=previous)),
        )

    def _model(self, name: str, model: ModelSpec, opts: pulumi.ResourceOptions, failover: bool) -> ModelDeployment:
        f = self.foundation
        identity = f.bind_model_reader(MODELS_NAMESPACE, model.name)
        return ModelDeployment(
            f"{name}-{model.name}",
            {
                "model": model,
                "image": self.image.ref,
                "namespace": MODELS_NAMESPACE,
                "create_namespace": False,
                "model_uri_base": f.models_uri,
                "service_account_annotations": identity.service_account_annotations,
                "pod_labels": dict(identity.pod_labels),
                "env": dict(identity.env),
                "failover": failover,
                "image_pull_secrets": [REGISTRY_PULL_SECRET] if f.registry.pull_credentials is not None else [],
                "secret_files": dict(identity.secret_files),
                **({"prometheus_address": self.monitoring.prometheus_address} if self.monitoring else {}),
                "protected": self._protected,
            },
            opts=opts,
        )


def global_view_args(spec: PlatformSpec, cell: CellSpec) -> dict[str, Any]:
    """This cell's part of the global metrics view (spec.global_metrics), as Monitoring args: receive it, send to the
    receiving cell over the mesh, send to the external endpoint (with its credentials from secret config), or none.

    A missing credentials key is a SpecError naming it, raised before the cell registers anything."""
    target = spec.global_metrics
    if target is None:
        return {}
    if not isinstance(target, GlobalMetricsRemoteWriteSpec):
        if spec.receives_global_metrics(cell):
            return {"receive_global": target}
        return {"send_global": "mesh"}
    args: dict[str, Any] = {"send_global": target}
    if target.credential_fields:
        args["remote_write_credentials"] = remote_write_credentials(target.credential_fields)
    return args


def remote_write_credentials(fields: tuple[str, ...]) -> pulumi.Output[dict]:
    """The secret JSON object of stack config lepton-platform:metricsRemoteWriteCredentials, with text ``fields``."""
    key = f"{CONFIG_NAMESPACE}:{REMOTE_WRITE_CREDENTIALS_KEY}"
    raw = pulumi.Config(CONFIG_NAMESPACE).get_secret(REMOTE_WRITE_CREDENTIALS_KEY)
    if raw is None:
        example = json.dumps({f: "..." for f in fields})
        raise SpecError([(key, f"missing: global_metrics.auth needs it (pulumi config set --secret {key} '{example}')")], "stack config")

    def parse(text: str) -> dict[str, str]:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(value.get(f), str) and value[f] for f in fields):
            raise SpecError([(key, f"must be a JSON object with text {', '.join(fields)}")], "stack config")
        return {f: value[f] for f in fields}

    return pulumi.Output.secret(raw.apply(parse))


def pick_cell(spec: PlatformSpec, cell: str | None) -> CellSpec:
    """The named cell of the spec (or its only one); a SpecError listing the cells otherwise."""
    names = [c.name for c in spec.cells]
    if cell is None and len(spec.cells) == 1:
        return spec.cells[0]
    for c in spec.cells:
        if c.name == cell:
            return c
    raise SpecError([("cell", f"{cell!r} is not a cell of this spec; cells: {', '.join(names)}")], "Cell args")


def build_context_of(path: str | Path | None) -> Path:
    """The serving image's build context: the directory that holds serving/ (serving/Dockerfile copies serving/...).

    By default the serving sources installed with lepton-infra, as ServingImage does: one rule for both. Checked
    here, before the cell registers anything, so a wrong path is an error and not half a stack.
    """
    context = Path(path) if path is not None else packaged_context()
    if not (context / "serving" / "Dockerfile").is_file():
        raise SpecError(
            [("build_context", f"{context} has no serving/Dockerfile; pass the directory that holds serving/, or omit it "
                               "to build the serving sources installed with lepton-infra")],
            "Cell args",
        )
    return context
