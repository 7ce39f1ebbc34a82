"""One model served from the serving image: Deployments per version, Service, autoscaling, Istio routing and access.

Autoscaling is KEDA's (a ScaledObject, keda.sh/v1alpha1) on serving's own queue depth read from the cell's
Prometheus, which scrapes the pods' /metrics (merged by their Istio sidecar, SCRAPE_ANNOTATIONS) through the model's
PodMonitor (monitoring.coreos.com/v1): a GPU model's CPU idles while its GPU saturates, so CPU is not the signal.
A model that scales to zero also wakes on its callers' requests (Istio's istio_requests_total at the callers).

The pod follows the hybrid contract (selects ``lepton.ai/accelerator``, tolerates the GPU taint, requests
``nvidia.com/gpu``) and the ``restricted`` Pod Security Standard (non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, read-only root filesystem). In a sidecar-injected namespace that needs
the Istio CNI agent (IstioMesh installs it). The server's contract: V2 health endpoints, env configuration and a
draining SIGTERM (serving/).
"""

from __future__ import annotations

import base64
import json
import re

from typing import Annotated, Any, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.policy.v1 as policy
from pulumi_kubernetes.apiextensions import CustomResource
from pydantic import AfterValidator, Field, StringConstraints, model_validator

from lepton_infra import conventions
from lepton_infra.cell_contract import SECRET_FILES_DIR
from lepton_infra.spec import ComponentArgs, DnsLabel, ModelSpec, PulumiInput, SpecIssues, parse_model, scale_to_zero_issue

from ._helm import child_name
from .monitoring import POD_MONITOR_LABELS, PROMETHEUS_ADDRESS

TOKEN = "lepton:kubernetes:ModelDeployment"
PORT = 8080
# The Open Inference Protocol's gRPC endpoint (serving/grpc_service.py), on KServe's model servers' port. Named `grpc`
# on the container and the Service: Istio selects the protocol by port name / appProtocol.
GRPC_PORT = 8081
USER_ID = 10001
SHUTDOWN_GRACE_SECONDS = 30
# Longer than the server's drain grace, so the kubelet never kills a pod that is still answering requests.
TERMINATION_GRACE_SECONDS = 2 * SHUTDOWN_GRACE_SECONDS
# Model load (download + to GPU) may take minutes: allow 10 s x 90 = 15 min before the startup probe gives up.
STARTUP_FAILURE_THRESHOLD = 90
# How long `pulumi up` waits for a Deployment to become ready (the provider's default is 10 min): a GPU node scaled up
# from zero (~5 min), the CUDA image pulled (~5 min) and the startup probe's 15 min must fit, or the update fails
# while the rollout is still healthy.
ROLLOUT_TIMEOUT = "30m"
# serving/metrics.py: the Gauge of requests waiting for a batch in one server process.
QUEUE_METRIC = "serving_queue_depth"
# How far back a call counts as demand for a model scaled to zero: at least four of the mesh's 15 s scrapes (Prometheus's
# rule of thumb for rate()); after the last call the model keeps one replica this long, then KEDA's cooldownPeriod.
DEMAND_WINDOW = "2m"
METRICS_PATH = "/metrics"
# Istio's metrics merging (istio.io/latest/docs/ops/integrations/prometheus, "Option 1: Metrics merging"): the sidecar
# injector reads these annotations (the app's port and path), points them at the agent's :15020/stats/prometheus,
# and the agent serves the app's /metrics merged with Envoy's there, in plaintext, outside the inbound listener. So
# Prometheus (outside the mesh) reads the server's metrics though the serving port admits only mTLS callers from the
# namespaces the AuthorizationPolicy names.
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": METRICS_PATH}
MERGED_METRICS_PATH = "/stats/prometheus"
# Istio's PodMonitor for merged metrics (samples/addons/extras/prometheus-operator.yaml, "envoy-stats-monitor"): keep
# the sidecar's target, and scrape the port the (rewritten) prometheus.io/port annotation names.
MERGED_METRICS_RELABELINGS = [
    {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "istio-proxy"},
    {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"]},
    {
        "action": "replace",
        "sourceLabels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
        "regex": r"([^:]+)(?::\d+)?;(\d+)",
        "replacement": "$1:$2",
        "targetLabel": "__address__",
    },
]


def _text_or_output(value: Any) -> Any:
    if not isinstance(value, (str, pulumi.Output)):
        raise ValueError(f"an environment value is text or an Output of text, not {type(value).__name__}")
    return value


EnvValue = Annotated[Any, AfterValidator(_text_or_output)]
# A Secret's key, which becomes the file's name under SECRET_FILES_DIR (Kubernetes: [-._a-zA-Z0-9]+).
SecretFileName = Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]
SECRET_VOLUME = "secrets"
SECRET_FILE_MODE = 0o440  # owner and the pod's fsGroup read; nobody writes


class ModelDeploymentArgsDict(TypedDict, total=False):
    """ModelDeploymentArgs as a plain dict: the same keys, validated the same way."""

    model: Required[ModelSpec | Mapping[str, Any]]
    image: Required[PulumiInput[str]]
    namespace: DnsLabel
    create_namespace: bool
    model_uri_base: Required[PulumiInput[str]]
    service_account_annotations: PulumiInput[Mapping[str, PulumiInput[str]]]
    pod_labels: Mapping[str, str]
    env: Mapping[str, PulumiInput[str]]
    secret_files: Mapping[SecretFileName, PulumiInput[str]]
    image_pull_secrets: Sequence[DnsLabel]
    failover: bool
    prometheus_address: PulumiInput[str]
    protected: bool


class ModelDeploymentArgs(ComponentArgs):
    model: ModelSpec
    image: PulumiInput[str] = Field(description="Full image reference, e.g. the serving image's ref with digest.")
    namespace: DnsLabel = "models"
    create_namespace: bool = True
    model_uri_base: PulumiInput[str] = Field(description="URI of the lake's models zone, e.g. s3://bucket.")
    service_account_annotations: PulumiInput[Mapping[str, PulumiInput[str]]] = Field(
        default_factory=dict, description="Workload identity binding, e.g. eks.amazonaws.com/role-arn."
    )
    pod_labels: dict[str, str] = Field(
        default_factory=dict, description="Extra pod labels the identity binding needs, e.g. azure.workload.identity/use."
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict, description="Extra container environment (text, or an Output of it), e.g. AWS_REGION."
    )
    secret_files: dict[SecretFileName, EnvValue] = Field(
        default_factory=dict,
        description="Secret files by name (an S3 credentials file where there is no workload identity): kept in the "
        "model's own Secret, mounted read-only in the container at " + SECRET_FILES_DIR + ", never environment "
        "variables (which every process of the pod, its crash dumps and `kubectl describe` readers see).",
    )
    image_pull_secrets: list[DnsLabel] = Field(
        default_factory=list, description="Secrets (kubernetes.io/dockerconfigjson) in the namespace the pods pull with."
    )
    failover: bool = Field(
        False,
        description="The model is served in several cells of one mesh: prefer the caller's locality and fail over to "
        "the other cells' endpoints when the local ones fail (outlier detection ejects them).",
    )
    prometheus_address: PulumiInput[str] = Field(
        PROMETHEUS_ADDRESS, description="The Prometheus KEDA queries for the model's queue depth (the cell's own)."
    )
    protected: bool = Field(False, description="Protected environment: the model may not scale to zero.")

    @model_validator(mode="after")
    def _no_scale_to_zero_when_protected(self) -> "ModelDeploymentArgs":
        if problem := scale_to_zero_issue(self.protected, self.model.scale_to_zero):
            raise SpecIssues([(("model", "scale_to_zero"), problem)])
        return self


def queue_depth_query(model: str, namespace: str) -> str:
    """PromQL: the requests waiting for a batch, summed over the model's pods (every version: they share its traffic).

    ``app`` is a pod label the PodMonitor copies onto its series (podTargetLabels); ``namespace`` the operator adds."""
    return f'sum({QUEUE_METRIC}{{namespace="{namespace}",app="{model}"}})'


def track_relabelings(model: ModelSpec) -> list[dict[str, Any]]:
    """Relabelings that put ``track="canary"`` on the series of the canary Deployment's pods (its version label) and
    ``track="stable"`` on every other's: the dashboards' canary-vs-stable panels group by it (dashboards.py)."""
    stable = {"action": "replace", "targetLabel": "track", "replacement": "stable"}
    if not model.canary:
        return [stable]
    canary = {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_version"],
        "regex": re.escape(model.canary.version),  # Prometheus anchors it: the whole label value
        "targetLabel": "track",
        "replacement": "canary",
    }
    return [stable, canary]


def demand_query(model: str, namespace: str) -> str:
    """PromQL: is anyone calling the model? The requests its callers' sidecars and gateways sent to its Service
    (Istio's standard metric, reporter="source": counted at the caller, so also while the model has no pod, when
    each call ends in the caller's 503), capped at 1 so this signal asks for one replica and never more."""
    requests = (
        f'istio_requests_total{{reporter="source",destination_service_namespace="{namespace}",'
        f'destination_service_name="{model}"}}'
    )
    return f"clamp_max(sum(rate({requests}[{DEMAND_WINDOW}])), 1)"


def wake_trigger(model: str, namespace: str, prometheus: pulumi.Input[str]) -> dict[str, Any]:
    """The second trigger of a model that scales to zero: any call in the last DEMAND_WINDOW activates it (KEDA's
    activationThreshold 0: a value above it scales 0 -> 1), and keeps one replica while calls go on."""
    return {
        "type": "prometheus",
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": prometheus,
            "query": demand_query(model, namespace),
            "threshold": "1",
            "activationThreshold": "0",
        },
    }


def scaled_object_spec(model: ModelSpec, namespace: str, deployment: pulumi.Input[str], prometheus: pulumi.Input[str]) -> dict:
    """The ScaledObject's spec (keda.sh/v1alpha1, keys from the vendored CRD): the stable Deployment between the
    model's bounds, 0 at the bottom when the spec asks for scale to zero, on the ``prometheus`` scaler's query
    (keda.sh/docs/2.20/scalers/prometheus: serverAddress, query, threshold, the per-replica target, activationThreshold).

    The queue depth comes from the model's own pods, so at zero replicas there is none; a model that scales to zero
    also has the callers' demand (wake_trigger), which brings it back. KEDA scales on the larger of the two."""
    queue = {
        "type": "prometheus",
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": prometheus,
            "query": queue_depth_query(model.name, namespace),
            "threshold": str(model.queue_depth_target),
        },
    }
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": 0 if model.scale_to_zero else model.replicas.min_size,
        "maxReplicaCount": model.replicas.max_size,
        "advanced": {
            # Named as the CPU HorizontalPodAutoscaler this replaces: KEDA adopts it in place (the annotation below)
            # instead of its admission webhook refusing a second autoscaler on the same Deployment.
            "horizontalPodAutoscalerConfig": {"name": f"{model.name}-{model.version}"},
        },
        "triggers": [queue, wake_trigger(model.name, namespace, prometheus)] if model.scale_to_zero else [queue],
    }


# Istio's "Locality failover" task (istio.io/latest/docs/tasks/traffic-management/locality-load-balancing/failover/):
# locality load balancing needs outlier detection, which ejects failing local endpoints so traffic moves to the next
# locality (another zone, then another region: here another cell through its east-west gateway).
FAILOVER_POLICY = {
    "loadBalancer": {"localityLbSetting": {"enabled": True}},
    "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 100},
}


def traffic_policy(failover: bool) -> dict[str, Any]:
    """The DestinationRule's trafficPolicy: mesh mTLS, and with ``failover`` locality-aware failover across cells."""
    return {"tls": {"mode": "ISTIO_MUTUAL"}, **(FAILOVER_POLICY if failover else {})}


def _probe(path: str, period: int, failure_threshold: int) -> dict[str, Any]:
    return {
        "http_get": {"path": path, "port": "http"},
        "period_seconds": period,
        "timeout_seconds": 5,
        "failure_threshold": failure_threshold,
    }


def _container(args: ModelDeploymentArgs, artifact: str, secret_name: pulumi.Input[str] | None) -> dict[str, Any]:
    model = args.model
    env = {
        "MODEL_NAME": model.name,
        "PORT": str(PORT),
        # The image runs `python -m serving` as its CMD with no ENTRYPOINT, so container args would replace the command:
        # every setting goes through the environment.
        "GRPC_PORT": str(GRPC_PORT),
        "MAX_BATCH_SIZE": str(model.max_batch_size),
        "MAX_QUEUE_DELAY_MS": str(model.max_queue_delay_ms),
        "SHUTDOWN_GRACE_S": str(SHUTDOWN_GRACE_SECONDS),
        "DEVICE": "cpu" if model.on_cpu else "cuda",
        **args.env,
    }
    resources = {"cpu": model.cpu, "memory": model.memory}
    if not model.on_cpu:
        resources[conventions.GPU_RESOURCE] = str(model.gpus)
    # One '/' between the zone and the artifact, whether the zone's URI ends in one (abfs://fs@account.../) or not.
    model_uri = pulumi.Output.from_input(args.model_uri_base).apply(lambda base: f"{base.rstrip('/')}/{artifact}")
    return {
        "name": "server",
        "image": args.image,
        "env": [{"name": "MODEL_URI", "value": model_uri}]
        + [{"name": k, "value": v} for k, v in env.items()],
        "ports": [
            {"name": "http", "container_port": PORT, "protocol": "TCP"},
            {"name": "grpc", "container_port": GRPC_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "startup_probe": _probe("/v2/health/ready", 10, STARTUP_FAILURE_THRESHOLD),
        "readiness_probe": _probe("/v2/health/ready", 5, 3),
        "liveness_probe": _probe("/v2/health/live", 10, 3),
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": USER_ID,
            "run_as_group": USER_ID,
            "allow_privilege_escalation": False,
            "read_only_root_filesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "volume_mounts": [{"name": "dshm", "mount_path": "/dev/shm"}, {"name": "tmp", "mount_path": "/tmp"}]
        + ([{"name": SECRET_VOLUME, "mount_path": SECRET_FILES_DIR, "read_only": True}] if secret_name else []),
    }


def _pod_spec(
    args: ModelDeploymentArgs, service_account: pulumi.Input[str], artifact: str, labels: dict, secret_name: pulumi.Input[str] | None
) -> dict:
    model = args.model
    # A CPU model selects no GPU node and tolerates no GPU taint: it runs on the cluster's ordinary nodes.
    placement = {} if model.on_cpu else {
        "node_selector": conventions.gpu_node_selector(model.accelerator),
        "tolerations": list(conventions.GPU_WORKLOAD_TOLERATIONS),
    }
    return {
        "service_account_name": service_account,
        # The server never calls the Kubernetes API. IRSA's webhook and Istio mount their own projected tokens.
        "automount_service_account_token": False,
        "termination_grace_period_seconds": TERMINATION_GRACE_SECONDS,
        **placement,
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": USER_ID,
            "run_as_group": USER_ID,
            "fs_group": USER_ID,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        **({"image_pull_secrets": [{"name": n} for n in args.image_pull_secrets]} if args.image_pull_secrets else {}),
        "containers": [_container(args, artifact, secret_name)],
        "volumes": [
            # PyTorch data loaders and NCCL use shared memory; the runtime's default /dev/shm is 64 MiB.
            {"name": "dshm", "empty_dir": {"medium": "Memory", "size_limit": model.shm_size}},
            {"name": "tmp", "empty_dir": {"size_limit": "1Gi"}},
        ]
        + ([{"name": SECRET_VOLUME, "secret": {"secret_name": secret_name, "default_mode": SECRET_FILE_MODE}}]
           if secret_name else []),
        # Spread replicas over nodes so one node loss does not take the whole model down.
        "topology_spread_constraints": [
            {
                "max_skew": 1,
                "topology_key": "kubernetes.io/hostname",
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": {"match_labels": labels},
            }
        ],
    }


def models_namespace(resource_name: str, namespace: str, opts: pulumi.ResourceOptions) -> core.Namespace:
    """A namespace for model pods: sidecars injected, the ``restricted`` Pod Security Standard enforced.

    One model may create its own (``create_namespace``); where several share one, their owner (the cell) declares it
    with this and the models depend on it, so no model's removal takes the namespace with it.
    """
    return core.Namespace(
        resource_name,
        metadata={
            "name": namespace,
            "labels": {"istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted"},
        },
        opts=opts,
    )


def registry_pull_secret(
    resource_name: str, name: str, namespace: pulumi.Input[str], credentials: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
) -> core.Secret:
    """A kubernetes.io/dockerconfigjson Secret from {server, username, password}, kept secret in state and plans."""

    def dockerconfig(c: Mapping[str, Any]) -> str:
        auth = base64.b64encode(f"{c['username']}:{c['password']}".encode()).decode()
        return json.dumps({"auths": {c["server"]: {"username": c["username"], "password": c["password"], "auth": auth}}})

    return core.Secret(
        resource_name,
        metadata={"name": name, "namespace": namespace},
        type="kubernetes.io/dockerconfigjson",
        string_data={".dockerconfigjson": pulumi.Output.secret(pulumi.Output.from_input(credentials).apply(dockerconfig))},
        opts=opts,
    )


class ModelDeployment(pulumi.ComponentResource):
    """A model's serving workload: per-version Deployments, Service, ScaledObject, PodMonitor, PDB, DestinationRule,
    VirtualService and AuthorizationPolicy."""

    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    host: pulumi.Output[str]
    deployment_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ModelDeploymentArgs | ModelDeploymentArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(ModelDeploymentArgs, args)
        super().__init__(TOKEN, name, None, opts)
        model, ns = args.model, args.namespace
        child = pulumi.ResourceOptions(parent=self)

        ns_name: pulumi.Input[str] = ns
        if args.create_namespace:
            ns_name = models_namespace(child_name(self, "ns"), ns, child).metadata.name

        def meta(obj_name: str, **extra: Any) -> dict[str, Any]:
            return {"name": obj_name, "namespace": ns_name, "labels": {"app": model.name}, **extra}

        service_account = core.ServiceAccount(
            child_name(self, "sa"),
            metadata=meta(model.name, annotations=args.service_account_annotations),
            opts=child,
        )

        secret_name: pulumi.Input[str] | None = None
        if args.secret_files:
            # Named "-env" since it held environment variables: the name kept, so the Secret is updated in place.
            secret_name = core.Secret(
                child_name(self, "env"),
                metadata=meta(f"{model.name}-env"),
                type="Opaque",
                string_data={k: pulumi.Output.secret(v) for k, v in args.secret_files.items()},
                opts=child,
            ).metadata.name

        versions = [(model.version, model.artifact, model.replicas.desired)]
        if model.canary:
            versions.append((model.canary.version, model.canary.artifact, 1))
        deployments = []
        for version, artifact, replicas in versions:
            labels = {"app": model.name, "version": version}
            deployments.append(
                apps.Deployment(
                    child_name(self, version),
                    metadata={**meta(f"{model.name}-{version}"), "labels": labels},
                    spec={
                        "replicas": replicas,
                        "selector": {"match_labels": labels},
                        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 1, "max_unavailable": 0}},
                        "template": {
                            "metadata": {"labels": {**args.pod_labels, **labels}, "annotations": dict(SCRAPE_ANNOTATIONS)},
                            "spec": _pod_spec(args, service_account.metadata.name, artifact, labels, secret_name),
                        },
                    },
                    # KEDA's HPA owns the replica count after creation; Pulumi must not reset it on every update.
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        ignore_changes=["spec.replicas"] if version == model.version else None,
                        custom_timeouts=pulumi.CustomTimeouts(create=ROLLOUT_TIMEOUT, update=ROLLOUT_TIMEOUT),
                    ),
                )
            )
        stable = deployments[0]

        service = core.Service(
            child_name(self, "svc"),
            metadata=meta(model.name),
            spec={
                "selector": {"app": model.name},
                # Istio picks the protocol from the port name / appProtocol.
                "ports": [
                    {"name": "http", "port": PORT, "target_port": "http", "app_protocol": "http"},
                    {"name": "grpc", "port": GRPC_PORT, "target_port": "grpc", "app_protocol": "grpc"},
                ],
            },
            opts=child,
        )

        # KEDA makes and drives the HorizontalPodAutoscaler from this; its admission webhook refuses a ScaledObject on a
        # Deployment another HPA scales, unless told to adopt that HPA (KEDA docs, "Scaling Deployments...":
        # scaledobject.keda.sh/transfer-hpa-ownership with advanced.horizontalPodAutoscalerConfig.name).
        CustomResource(
            child_name(self, "scaler"),
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=meta(f"{model.name}-{model.version}", annotations={"scaledobject.keda.sh/transfer-hpa-ownership": "true"}),
            spec=scaled_object_spec(model, ns, stable.metadata.name, args.prometheus_address),
            opts=child,
        )

        # The cell's Prometheus scrapes every pod of the model (all versions): the server's /metrics on the serving port,
        # through the sidecar's merged endpoint (SCRAPE_ANNOTATIONS).
        CustomResource(
            child_name(self, "metrics"),
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata={**meta(model.name), "labels": {"app": model.name, **POD_MONITOR_LABELS}},
            spec={
                "selector": {"matchLabels": {"app": model.name}},
                "podMetricsEndpoints": [
                    {"path": MERGED_METRICS_PATH, "relabelings": [*MERGED_METRICS_RELABELINGS, *track_relabelings(model)]}
                ],
                "podTargetLabels": ["app", "version"],
            },
            opts=child,
        )

        # maxUnavailable (not minAvailable 1): a single-replica model must not block node drains forever.
        policy.PodDisruptionBudget(
            child_name(self, "pdb"),
            metadata=meta(model.name),
            spec={"max_unavailable": 1, "selector": {"match_labels": {"app": model.name}}},
            opts=child,
        )

        def istio(suffix: str, api_version: str, kind: str, spec: dict, opts: pulumi.ResourceOptions) -> None:
            CustomResource(
                child_name(self, suffix), api_version=api_version, kind=kind, metadata=meta(model.name), spec=spec, opts=opts
            )

        host = f"{model.name}.{ns}.svc.cluster.local"
        routed = pulumi.ResourceOptions(parent=self, depends_on=[service])
        istio(
            "dr",
            "networking.istio.io/v1",
            "DestinationRule",
            {
                "host": host,
                "trafficPolicy": traffic_policy(args.failover),
                "subsets": [{"name": v, "labels": {"version": v}} for v, _, _ in versions],
            },
            routed,
        )
        canary_weight = model.canary.weight if model.canary else 0
        weights = {model.version: 100 - canary_weight}
        if model.canary:
            weights[model.canary.version] = canary_weight
        istio(
            "vs",
            "networking.istio.io/v1",
            "VirtualService",
            {
                "hosts": [host],
                # One route per port, matched by the port the caller addressed: without the match a route applies to
                # every port of the host and would send gRPC calls to the HTTP port. (gRPC is HTTP/2: `http` routes.)
                "http": [
                    {
                        "name": name,
                        "match": [{"port": port}],
                        "route": [
                            {"destination": {"host": host, "subset": v, "port": {"number": port}}, "weight": w}
                            for v, w in weights.items()
                        ],
                    }
                    for name, port in (("http", PORT), ("grpc", GRPC_PORT))
                ],
            },
            routed,
        )

        # Least privilege in the mesh: STRICT mTLS proves who calls, this says who may. Only the model's own
        # namespace and the namespaces the spec names; kubelet probes go through the sidecar agent, not this port.
        istio(
            "authz",
            "security.istio.io/v1",
            "AuthorizationPolicy",
            {
                "selector": {"matchLabels": {"app": model.name}},
                "action": "ALLOW",
                "rules": [{"from": [{"source": {"namespaces": sorted({ns, *model.callers})}}]}],
            },
            child,
        )

        self.namespace = pulumi.Output.from_input(ns_name)
        self.service_name = service.metadata.name
        self.host = pulumi.Output.from_input(host)
        self.deployment_names = pulumi.Output.all(*[d.metadata.name for d in deployments])
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_name": self.service_name,
                "host": self.host,
                "deployment_names": self.deployment_names,
            }
        )
