"""The existing-cluster cell foundation: a cluster that is already there (on-prem, kind, minikube) as a cell.

No cloud resource at all: a Kubernetes provider on the cluster, the S3 lake (SeaweedFS in the cluster, or an external
S3-compatible endpoint), and a registry given by URL. Model pods read the lake with S3 access keys, passed as
``IdentityBinding.secret_files``: an AWS shared credentials file in the model's own Kubernetes Secret, mounted in the
pod, which botocore (s3fs) reads from AWS_SHARED_CREDENTIALS_FILE.

Secret stack config it reads (``pulumi config set --secret lepton-platform:<key> ...``):
- ``kubeconfig``: the cluster's kubeconfig; absent, the ambient one (KUBECONFIG / ~/.kube/config, its current context,
  or ``cluster.context``);
- ``registryCredentials``: ``{"username", "password"}`` to push the serving image; absent, the push is
  unauthenticated (a local registry such as kind's localhost:5001);
- ``lakeCredentials``: ``{"access_key_id", "secret_access_key"}`` of an external lake.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from lepton_infra.cell_contract import (
    SECRET_FILES_DIR,
    Capabilities,
    CellFoundation,
    Egress,
    IdentityBinding,
    LogDestination,
    Registry,
)
from lepton_infra.spec import (
    CONFIG_NAMESPACE,
    KUBECONFIG_KEY,
    LAKE_CREDENTIALS_KEY,
    MODELS_ZONE,
    REGISTRY_CREDENTIALS_KEY,
    ExistingCellSpec,
    ExternalLakeSpec,
    PlatformSpec,
    SpecError,
)

from .lake import S3_PORT, InClusterLake


def capabilities(cell: ExistingCellSpec) -> Capabilities:
    return Capabilities(
        # No cloud load balancer controller to ask for an internal one: a LoadBalancer Service is whatever the
        # cluster's own implementation (MetalLB, kind's cloud-provider-kind, minikube tunnel) makes of it.
        internal_load_balancer_annotations={},
        # The GPU operator installs the driver and container toolkit unless the cell says the nodes have them.
        gpu_driver_preinstalled=not cell.gpu_runtime.install_driver,
        istio_cni_platform=None,
        model_egress=(lake_egress(cell),),
    )


def lake_egress(cell: ExistingCellSpec) -> Egress:
    """The lake's S3 endpoint, where the model pods read their artifacts: SeaweedFS's S3 Service in its namespace, or
    the external endpoint's port (its URL's, or its scheme's default)."""
    store = cell.data_lake.store
    if isinstance(store, ExternalLakeSpec):
        url = urlsplit(store.endpoint)
        return Egress(port=url.port or (443 if url.scheme == "https" else 80), why="the external S3 endpoint")
    return Egress(port=S3_PORT, namespace=store.namespace, why="the in-cluster SeaweedFS S3 gateway")


CREDENTIALS_FILE = "aws-credentials"


def credentials_file(access_key_id: str, secret_access_key: str) -> str:
    """An AWS shared credentials file (botocore's ``credentials_file``) with the default profile's keys."""
    return f"[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret_access_key}\n"


def _secret_json(config: pulumi.Config, key: str, fields: tuple[str, ...]) -> pulumi.Output[dict] | None:
    """A secret JSON object of config ``key`` with ``fields``, or None when the key is not set."""
    raw = config.get_secret(key)
    if raw is None:
        return None

    def parse(text: str) -> dict:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(value.get(f), str) for f in fields):
            raise SpecError([(f"{CONFIG_NAMESPACE}:{key}", f"must be a JSON object with text {', '.join(fields)}")], "stack config")
        return value

    return pulumi.Output.secret(raw.apply(parse))


def build_foundation(parent: pulumi.Resource, name: str, spec: PlatformSpec, cell: ExistingCellSpec) -> CellFoundation:
    """The existing cluster's part of a cell: its Kubernetes provider, the lake and the registry, nothing created outside."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    lake_spec = cell.data_lake
    external = isinstance(lake_spec.store, ExternalLakeSpec)
    keys = _secret_json(config, LAKE_CREDENTIALS_KEY, ("access_key_id", "secret_access_key")) if external else None
    if external and keys is None:  # before anything registers
        raise SpecError([(f"{CONFIG_NAMESPACE}:{LAKE_CREDENTIALS_KEY}", "an external lake needs its access keys: "
                          'pulumi config set --secret lepton-platform:lakeCredentials \'{"access_key_id": ..., "secret_access_key": ...}\'')], "stack config")

    # pulumi_kubernetes: without kubeconfig the provider reads the ambient one (KUBECONFIG, ~/.kube/config).
    provider = k8s.Provider(
        f"{name}-kubernetes",
        kubeconfig=config.get_secret(KUBECONFIG_KEY),
        context=cell.cluster.context,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    in_cluster = pulumi.ResourceOptions(parent=parent, provider=provider)

    ready: list[pulumi.Resource] = []
    if isinstance(lake_spec.store, ExternalLakeSpec) and keys is not None:
        endpoint: pulumi.Input[str] = lake_spec.store.endpoint
        models_bucket: pulumi.Input[str] = f"{lake_spec.store.bucket_prefix}{MODELS_ZONE}"
        access_key_id = keys.apply(lambda k: k["access_key_id"])
        secret_access_key = keys.apply(lambda k: k["secret_access_key"])
    else:
        lake = InClusterLake(f"{name}-lake", {"spec": lake_spec.store, "zones": lake_spec.zones, "protected": spec.protected}, opts=in_cluster)
        # The models zone's reader: a model reads its artifact, never another zone, and never writes.
        endpoint, (access_key_id, secret_access_key) = lake.endpoint, lake.readers[MODELS_ZONE]
        models_bucket = lake.buckets.get(MODELS_ZONE, MODELS_ZONE)
        ready.append(lake)

    push = _secret_json(config, REGISTRY_CREDENTIALS_KEY, ("username", "password"))
    server = cell.registry.url.split("/", 1)[0]
    credentials = None if push is None else push.apply(lambda c: {"server": server, **c})

    def bind_model_reader(namespace: str, service_account: str) -> IdentityBinding:
        # No workload identity: S3 access keys. The endpoint is plain env; the keys land in a Secret of the model's
        # own (ModelDeployment) as a shared credentials file mounted in the container, never in the Deployment's spec
        # nor in its environment. AWS_REGION only because the SDK signs requests with a region; SeaweedFS and most
        # S3-compatible stores accept any.
        return IdentityBinding(
            service_account_annotations={},
            env={
                "AWS_ENDPOINT_URL_S3": endpoint,
                "AWS_REGION": "us-east-1",
                "AWS_SHARED_CREDENTIALS_FILE": f"{SECRET_FILES_DIR}/{CREDENTIALS_FILE}",
            },
            secret_files={CREDENTIALS_FILE: pulumi.Output.all(access_key_id, secret_access_key).apply(lambda k: credentials_file(*k))},
        )

    return CellFoundation(
        cloud="existing",
        kubernetes_provider=provider,
        kubernetes_version=cell.cluster.kubernetes_version,
        cluster_name=pulumi.Output.from_input(cell.cluster.context or cell.name),
        registry=Registry(
            repository_url=pulumi.Output.from_input(f"{cell.registry.url.rstrip('/')}/{cell.registry.repository}"),
            credentials=credentials,
            # The cluster's nodes pull from the same private registry with the same account.
            pull_credentials=credentials,
        ),
        models_uri=pulumi.Output.concat("s3://", models_bucket),
        bind_model_reader=bind_model_reader,
        capabilities=capabilities(cell),
        ready=ready,
        api_endpoint=_given(cell.cluster.api_endpoint),
        certificate_authority=_given(cell.cluster.certificate_authority_data),
        bind_log_writer=log_writer(cell),
    )


# The core distribution's OTLP/HTTP exporter (in contrib too); `endpoint` is its base URL, /v1/logs appended.
OTLP_EXPORTER = "otlphttp"


def log_writer(cell: ExistingCellSpec):
    """The spec's OTLP endpoint as the cell's log destination (no identity: the endpoint's own access rules); None
    without one, and the cell ships no logs."""
    endpoint = cell.logs.otlp_endpoint
    if endpoint is None:
        return None
    return lambda namespace, service_account: LogDestination(
        exporter=OTLP_EXPORTER, config={"endpoint": endpoint}, description=f"OTLP/HTTP {endpoint}"
    )


def _given(value: str | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.from_input(value)
