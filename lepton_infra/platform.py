"""Compose one cell of the platform from the spec: the cloud's foundation, then the cloud-neutral in-cluster stack.

A cell is split in two so clouds share everything above the cluster:
- the *foundation* (per cloud): network, cluster, GPU pools, data lake, registry, and a way to mint workload
  identities that may read the lake;
- the *in-cluster* part (every cloud): serving image, NVIDIA GPU runtime, Istio mesh, model deployments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pulumi

from . import conventions
from .spec import AwsCellSpec, CellSpec, ModelSpec, PlatformSpec, MODELS_ZONE, parse_model


MODELS_NAMESPACE = "models"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"


@dataclass
class Foundation:
    """What a cloud gives the in-cluster layer; every field is cloud-neutral."""

    cloud: str
    kubernetes_provider: pulumi.ProviderResource
    kubernetes_version: str
    cluster_name: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    registry_credentials: pulumi.Output[dict]
    models_uri: pulumi.Output[str]
    # Creates an identity for (namespace, service account) that may read the models zone; returns its SA annotations.
    model_reader: Callable[[str, str], pulumi.Output[dict]]
    model_env: dict[str, str]
    ready: list[pulumi.Resource]


class Platform(pulumi.ComponentResource):
    """Everything one cell of the spec stands up: ``Platform("prod-aws-use1", spec, cell="aws-use1")``."""

    foundation: Foundation

    def __init__(
        self,
        name: str,
        spec: PlatformSpec | dict,
        cell: str | None = None,
        build_context: str | Path | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        spec = parse_model(PlatformSpec, spec)
        cell_spec = _pick_cell(spec, cell)
        context = _build_context(build_context)
        super().__init__("lepton:platform:Platform", name, None, opts)

        self.foundation = _FOUNDATIONS[cell_spec.cloud](self, name, spec, cell_spec)
        f = self.foundation
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": f.kubernetes_provider}, depends_on=f.ready)

        from lepton_infra.components.kubernetes.gpu_runtime import NvidiaGpuRuntime
        from lepton_infra.components.kubernetes.mesh import IstioMesh
        from lepton_infra.components.kubernetes.serving_image import ServingImage

        self.image = ServingImage(
            f"{name}-serving-image",
            {
                "context": str(context),
                "variant": cell_spec.registry.build_variant,
                "repository_url": f.repository_url,
                "tag": cell_spec.registry.image_tag,
                "registry": f.registry_credentials,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.gpu_runtime = NvidiaGpuRuntime(
            f"{name}-gpu-runtime", {"spec": cell_spec.gpu_runtime, "cloud": f.cloud}, opts=in_cluster
        )
        self.mesh = IstioMesh(
            f"{name}-mesh",
            {"spec": cell_spec.mesh, "cloud": f.cloud, "cluster_name": cell_spec.name, "network": f"{cell_spec.name}-network"},
            opts=in_cluster,
        )
        models = spec.models_for(cell_spec)
        serving_opts = pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[self.mesh, self.gpu_runtime]))
        if models:
            # The cell owns the models' namespace: removing any model must never move (and so delete) it.
            namespace = self._models_namespace(name, models, in_cluster)
            serving_opts = pulumi.ResourceOptions.merge(serving_opts, pulumi.ResourceOptions(depends_on=[namespace]))
        self.models = {model.name: self._model(name, model, serving_opts) for model in models}

        self.cluster_name = f.cluster_name
        self.image_ref = self.image.ref
        self.models_uri = f.models_uri
        self.register_outputs(
            {"cluster_name": self.cluster_name, "image_ref": self.image_ref, "models_uri": self.models_uri}
        )

    def _models_namespace(self, name: str, models: list[ModelSpec], opts: pulumi.ResourceOptions):
        from lepton_infra.components.kubernetes.model_deployment import TOKEN as MODEL_TOKEN, models_namespace

        # Earlier releases let the cell's first model create the namespace as its child "<model>-ns": alias every
        # model's old child, so an existing stack adopts the namespace in place instead of replacing (deleting) it.
        previous = [
            pulumi.create_urn(f"{name}-{m.name}-ns", NAMESPACE_TYPE, parent=pulumi.create_urn(f"{name}-{m.name}", MODEL_TOKEN, parent=self))
            for m in models
        ]
        return models_namespace(
            f"{name}-{MODELS_NAMESPACE}-ns",
            MODELS_NAMESPACE,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=previous)),
        )

    def _model(self, name: str, model: ModelSpec, opts: pulumi.ResourceOptions):
        from lepton_infra.components.kubernetes.model_deployment import ModelDeployment

        f = self.foundation
        return ModelDeployment(
            f"{name}-{model.name}",
            {
                "model": model,
                "image": self.image.ref,
                "namespace": MODELS_NAMESPACE,
                "create_namespace": False,
                "model_uri_base": f.models_uri,
                "service_account_annotations": f.model_reader(MODELS_NAMESPACE, model.name),
                "env": f.model_env,
            },
            opts=opts,
        )


def _pick_cell(spec: PlatformSpec, cell: str | None) -> CellSpec:
    from .spec import SpecError

    names = [c.name for c in spec.cells]
    if cell is None and len(spec.cells) == 1:
        return spec.cells[0]
    for c in spec.cells:
        if c.name == cell:
            return c
    raise SpecError([("cell", f"{cell!r} is not a cell of this spec; cells: {', '.join(names)}")], "Platform args")


def _build_context(path: str | Path | None) -> Path:
    """The serving image's build context: the directory that holds serving/ (serving/Dockerfile copies serving/...).

    By default the serving sources installed with lepton-infra, as ServingImage does: one rule for both. Checked
    here, before the Platform registers anything, so a wrong path is an error and not half a stack.
    """
    from lepton_infra.components.kubernetes.serving_image import packaged_context

    from .spec import SpecError

    context = Path(path) if path is not None else packaged_context()
    if not (context / "serving" / "Dockerfile").is_file():
        raise SpecError(
            [("build_context", f"{context} has no serving/Dockerfile; pass the directory that holds serving/, or omit it "
                               "to build the serving sources installed with lepton-infra")],
            "Platform args",
        )
    return context


# --------------------------------------------------------------------------------------------------- AWS
def _aws_foundation(parent: Platform, name: str, spec: PlatformSpec, cell: AwsCellSpec) -> Foundation:
    import pulumi_aws as aws

    from lepton_infra.components.aws.cluster import EksCluster
    from lepton_infra.components.aws.cluster_autoscaler import ClusterAutoscaler
    from lepton_infra.components.aws.data_lake import DataLake
    from lepton_infra.components.aws.gpu_node_pool import GpuNodePool
    from lepton_infra.components.aws.network import Network
    from lepton_infra.components.aws.registry import ContainerRegistry
    from lepton_infra.components.aws.workload_identity import WorkloadIdentity

    tags = conventions.tags(spec.environment, cell.name, spec.tags)
    prefix = conventions.physical_name(spec.environment, cell.name, max_length=40)
    provider = aws.Provider(f"{name}-aws", region=cell.region, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)

    network = Network(f"{name}-network", {"spec": cell.network, "cluster_name": prefix, "tags": tags, "protected": spec.protected}, opts=opts)
    cluster = EksCluster(
        f"{name}-cluster",
        {
            "name": prefix,
            "spec": cell.cluster,
            "subnet_ids": network.private_subnet_ids,
            "vpc_id": network.vpc_id,
            "protected": spec.protected,
            "tags": tags,
        },
        opts=opts,
    )
    pools = [
        GpuNodePool(
            f"{name}-{pool.name}",
            {
                "pool": pool,
                "cluster_name": cluster.name,
                "node_role_arn": cluster.node_role_arn,
                "subnet_ids": network.private_subnet_ids,
                "kubernetes_version": cell.cluster.kubernetes_version,
                "tags": tags,
            },
            opts=opts,
        )
        for pool in cell.gpu_pools
    ]
    # Scales the node groups for pending pods (GPU pools from zero); installs once the system nodes exist.
    autoscaler = ClusterAutoscaler(
        f"{name}-cluster-autoscaler",
        {
            "cluster_name": cluster.name,
            "kubernetes_version": cell.cluster.kubernetes_version,
            "oidc_provider_arn": cluster.oidc_provider_arn,
            "oidc_issuer": cluster.oidc_issuer,
            # The role keeps the name earlier releases gave it (its component's name), so stacks update in place.
            "role_name": conventions.physical_name(f"{name}-cluster-autoscaler-identity", max_length=64),
            "tags": tags,
        },
        opts=pulumi.ResourceOptions(
            parent=parent, providers={"aws": provider, "kubernetes": cluster.provider}, depends_on=[cluster, *pools]
        ),
    )
    backup_provider = None
    if cell.data_lake.backup:
        backup_provider = aws.Provider(
            f"{name}-aws-backup", region=cell.data_lake.backup.region, opts=pulumi.ResourceOptions(parent=parent)
        )
    lake = DataLake(
        f"{name}-lake",
        {
            "spec": cell.data_lake,
            "name_prefix": prefix,
            "protected": spec.protected,
            "tags": tags,
            "backup_provider": backup_provider,
        },
        opts=opts,
    )
    registry = ContainerRegistry(
        f"{name}-registry", {"spec": cell.registry, "name_prefix": prefix, "protected": spec.protected, "tags": tags}, opts=opts
    )

    def model_reader(namespace: str, service_account: str) -> pulumi.Output[dict]:
        identity_name = f"{name}-{service_account}-identity"
        identity = WorkloadIdentity(
            identity_name,
            {
                "oidc_provider_arn": cluster.oidc_provider_arn,
                "oidc_issuer": cluster.oidc_issuer,
                "namespace": namespace,
                "service_account": service_account,
                "role_name": conventions.physical_name(identity_name, max_length=64),
                "tags": tags,
            },
            opts=opts,
        )
        lake.grant_read(identity, MODELS_ZONE)
        return identity.service_account_annotations

    return Foundation(
        cloud="aws",
        kubernetes_provider=cluster.provider,
        kubernetes_version=cell.cluster.kubernetes_version,
        cluster_name=cluster.name,
        repository_url=registry.repository_url,
        registry_credentials=registry.credentials,
        models_uri=pulumi.Output.concat("s3://", lake.buckets[MODELS_ZONE]),
        model_reader=model_reader,
        model_env={"AWS_REGION": cell.region, "AWS_DEFAULT_REGION": cell.region},
        # Models need GPU nodes, which only the autoscaler brings (pools scale from min_size, 0 in dev).
        ready=[cluster, *pools, autoscaler],
    )


_FOUNDATIONS: dict[str, Callable[..., Foundation]] = {"aws": _aws_foundation}


def deploy(spec: PlatformSpec, build_context: str | Path | None = None) -> dict[str, Platform]:
    """The stack program: one Platform per cell, with the outputs a user needs exported."""
    platforms = {}
    for cell in spec.cells:
        platform = Platform(f"{spec.environment}-{cell.name}", spec, cell=cell.name, build_context=build_context)
        pulumi.export(f"{cell.name}.cluster_name", platform.cluster_name)
        pulumi.export(f"{cell.name}.image_ref", platform.image_ref)
        pulumi.export(f"{cell.name}.models_uri", platform.models_uri)
        platforms[cell.name] = platform
    return platforms
