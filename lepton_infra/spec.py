"""The platform spec: one typed, validated description of what a stack stands up.

Read from one structured stack config key (``lepton-platform:platform``) and validated before any resource is
registered, so a bad config is a clear error naming the field and what would be right, and nothing is created.
Components take these same models as their args: one source of truth for defaults and rules.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Iterable, Literal, Mapping, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import catalog
from .conventions import is_dns_label

CONFIG_NAMESPACE = "lepton-platform"
CONFIG_KEY = "platform"

# Kubernetes minor versions the platform is built and schema-checked for (EKS standard support, Nov 2026:
# https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; Istio 1.28 supports 1.30-1.36).
KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")
DEFAULT_KUBERNETES_VERSION = "1.35"
DEFAULT_ZONES = ("raw", "curated", "features", "models")
MODELS_ZONE = "models"


# --------------------------------------------------------------------------------------------------- errors
class SpecIssues(ValueError):
    """Cross-field problems found by a model validator, each with a path relative to that model."""

    def __init__(self, issues: Sequence[tuple[tuple[str | int, ...], str]]):
        self.issues = list(issues)
        super().__init__("; ".join(f"{_path(p)}: {m}" for p, m in self.issues))


class SpecError(ValueError):
    """A spec that cannot be built: every problem, each with its full field path and what would be right."""

    def __init__(self, issues: Sequence[tuple[str, str]], source: str = "platform spec"):
        self.issues = list(issues)
        lines = "\n".join(f"  - {p}: {m}" for p, m in self.issues)
        super().__init__(f"invalid {source} ({len(self.issues)} problem{'s' * (len(self.issues) != 1)}):\n{lines}")


def _path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class a location points into, to list its allowed keys."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        current = _inner_model(annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _issues_from(err: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    for e in err.errors():
        loc = tuple(e["loc"])
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, SpecIssues):
            issues += [(_path(loc + sub), msg) for sub, msg in cause.issues]
        elif e["type"] == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else "see the JSON schema"
            issues.append((_path(loc), f"unknown key {loc[-1]!r}; allowed keys: {allowed}"))
        else:
            issues.append((_path(loc), f"{e['msg'].removeprefix('Value error, ')} (got {e.get('input')!r})"))
    return issues


# --------------------------------------------------------------------------------------------------- types
def _dns_label(value: str) -> str:
    if not is_dns_label(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: use 1-63 lowercase letters, digits and '-', starting and ending "
            "with a letter or digit"
        )
    return value


# Bucket names must not start with these (S3 User Guide, "General purpose bucket naming rules":
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). Our bucket names end with the account
# id, so the reserved suffixes (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3) cannot occur.
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


_NAME_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _name_prefix(value: str) -> str:
    """A prefix of physical names that become bucket, repository, role and catalog names on every cloud.

    The characters every one of those names accepts; any length, since long names are shortened with a hash.
    """
    if not _NAME_PREFIX.match(value):
        raise ValueError(
            f"{value!r} cannot start bucket, repository and role names: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. ml-dev)"
        )
    if reserved := next((p for p in S3_RESERVED_PREFIXES if value.startswith(p)), None):
        raise ValueError(f"{value!r} starts with {reserved!r}, which S3 reserves for its own bucket names")
    return value


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 CIDR such as 10.0.0.0/16 ({exc})") from None


def _accelerator_name(value: str) -> str:
    if value not in catalog.ACCELERATORS:
        raise ValueError(f"unknown accelerator {value!r}; allowed: {', '.join(catalog.ACCELERATORS)}")
    return value


def _unique(values: list[str]) -> list[str]:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"duplicate entries {dupes}; each must appear once")
    return values


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
NamePrefix = Annotated[str, AfterValidator(_name_prefix)]
Cidr = Annotated[str, AfterValidator(_cidr)]
AcceleratorName = Annotated[str, AfterValidator(_accelerator_name)]
Capacity = Literal["spot", "on-demand"]
ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class Validated(BaseModel):
    """Raises SpecError, built or validated either way: ``GpuPoolSpec(min_size=5, max_size=2)`` or from a dict.

    One error type and one message style (every problem with its field path), never pydantic's ValidationError.
    """

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise SpecError(_issues_from(err, type(self)), type(self).__name__) from None

    # Marks this __init__ as pydantic's own (as pydantic's RootModel does), so validating a *nested* model does not
    # call it: inner problems stay pydantic errors with their paths, and only the outermost call raises SpecError.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any):
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as err:
            raise SpecError(_issues_from(err, cls), cls.__name__) from None


class Strict(Validated):
    """Every spec model: unknown keys are errors, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------- cell parts
class NetworkSpec(Strict):
    cidr: Cidr = "10.0.0.0/16"
    availability_zones: int = Field(2, ge=2, le=6, description="AZs to spread subnets over (>= 2 for EKS).")
    single_nat_gateway: bool = Field(
        False, description="One NAT gateway for the VPC instead of one per AZ: cheaper, but an AZ outage cuts egress."
    )

    @model_validator(mode="after")
    def _room_for_subnets(self) -> "NetworkSpec":
        prefix = ipaddress.IPv4Network(self.cidr).prefixlen
        if prefix > 20:
            raise SpecIssues([(("cidr",), f"/{prefix} is too small for 2 subnets per AZ; use /20 or larger (e.g. /16)")])
        return self


class NodeScaling(Strict):
    min_size: int = Field(0, ge=0, le=1000)
    max_size: int = Field(1, ge=1, le=1000)
    desired_size: int | None = Field(None, ge=0, le=1000, description="Defaults to min_size.")

    @model_validator(mode="after")
    def _ordered(self) -> "NodeScaling":
        issues = []
        if self.min_size > self.max_size:
            issues.append((("min_size",), f"min_size {self.min_size} is greater than max_size {self.max_size}"))
        elif self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            issues.append(
                (("desired_size",), f"desired_size {self.desired_size} must lie in [{self.min_size}, {self.max_size}]")
            )
        if issues:
            raise SpecIssues(issues)
        return self

    @property
    def desired(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


class SystemPoolSpec(NodeScaling):
    """The CPU node group that runs cluster add-ons, istiod and the GPU operator's controllers."""

    instance_types: list[str] = Field(default_factory=lambda: ["m6i.large"], min_length=1)
    min_size: int = Field(2, ge=1, le=100)
    max_size: int = Field(4, ge=1, le=100)
    disk_size_gb: int = Field(50, ge=20, le=16384)


class GpuPoolSpec(NodeScaling):
    name: DnsLabel
    accelerator: AcceleratorName
    gpus_per_node: int = Field(1, ge=1, le=16)
    capacity: Capacity = "on-demand"
    disk_size_gb: int = Field(200, ge=50, le=16384, description="Root volume: images and model caches live here.")


class ClusterSpec(Strict):
    kubernetes_version: Literal[KUBERNETES_VERSIONS] = DEFAULT_KUBERNETES_VERSION  # type: ignore[valid-type]
    private_endpoint: bool | None = Field(
        None, description="API server reachable only from the VPC. Defaults to true in protected environments."
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Where the public endpoint may be reached from; required when the endpoint is public "
        "(0.0.0.0/0 is the explicit opt-out that opens it to the internet).",
    )
    control_plane_logs: list[ControlPlaneLog] = Field(
        default_factory=lambda: ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec)

    def endpoint_is_private(self, protected: bool) -> bool:
        """``private_endpoint`` when set; otherwise private exactly in protected environments."""
        return protected if self.private_endpoint is None else self.private_endpoint


class LifecycleSpec(Strict):
    infrequent_access_after_days: int = Field(30, ge=30, description="S3 requires >= 30 days before STANDARD_IA.")
    archive_after_days: int = Field(90, ge=1)
    noncurrent_versions_expire_after_days: int = Field(365, ge=1)
    abort_incomplete_uploads_after_days: int = Field(7, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "LifecycleSpec":
        # S3 refuses a transition out of STANDARD_IA sooner than 30 days after the transition into it
        # (S3 User Guide, "Constraints and considerations for transitions").
        earliest = self.infrequent_access_after_days + 30
        if self.archive_after_days < earliest:
            raise SpecIssues([(
                ("archive_after_days",),
                f"must be at least 30 days after infrequent_access_after_days ({self.infrequent_access_after_days}), "
                f"i.e. >= {earliest}: S3 keeps objects 30 days in STANDARD_IA before the next transition",
            )])
        return self


class BackupSpec(Strict):
    region: str = Field(description="Region that receives a replica of every zone (cross-region replication).")


class DataLakeSpec(Strict):
    zones: list[DnsLabel] = Field(default_factory=lambda: list(DEFAULT_ZONES), min_length=1)
    lifecycle: LifecycleSpec = Field(default_factory=LifecycleSpec)
    backup: BackupSpec | None = None
    access_logs_retention_days: int = Field(365, ge=1)

    @model_validator(mode="after")
    def _zones(self) -> "DataLakeSpec":
        try:
            _unique(self.zones)
        except ValueError as exc:
            raise SpecIssues([(("zones",), str(exc))]) from None
        return self


# Registry tags are at most 128 characters (OCI distribution spec); the serving image appends "-" and 12 hex of its
# content (components/kubernetes/serving_image.py), so a release tag keeps 13 of them free.
CONTENT_HASH_LENGTH = 12
RELEASE_TAG_PATTERN = rf"^[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{127 - 1 - CONTENT_HASH_LENGTH}}}$"


class RegistrySpec(Strict):
    repository: DnsLabel = "serving"
    image_tag: str = Field(
        "0.1.0", pattern=RELEASE_TAG_PATTERN, description="Release tag; pushed as <image_tag>-<12 hex of the content>."
    )
    build_variant: Literal["cpu", "cuda"] = "cuda"
    keep_images: int = Field(50, ge=1, le=1000, description="Lifecycle: untagged/old images beyond this are expired.")


class GpuRuntimeSpec(Strict):
    gpu_operator_version: str = "v25.10.1"


class MeshSpec(Strict):
    istio_version: str = "1.28.0"
    ingress_gateway: bool = True
    public_ingress: bool = Field(
        False,
        description="Internet-facing ingress load balancer (a named opt-out); by default it is internal to the network.",
    )
    mtls: Literal["STRICT", "PERMISSIVE"] = Field(
        "STRICT", description="PERMISSIVE is a named opt-out that lets plaintext traffic into the mesh."
    )


class CellSpec(Strict):
    """One cloud region's share of the platform: a cluster and everything that runs in and beside it."""

    name: DnsLabel
    cloud: Literal["aws"] = Field("aws", description="Only AWS cells exist so far.")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="e.g. us-east-1")
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    data_lake: DataLakeSpec = Field(default_factory=DataLakeSpec)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    gpu_runtime: GpuRuntimeSpec = Field(default_factory=GpuRuntimeSpec)
    mesh: MeshSpec = Field(default_factory=MeshSpec)

    @model_validator(mode="after")
    def _pools_fit_cloud(self) -> "CellSpec":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        names = [p.name for p in self.gpu_pools]
        for i, pool in enumerate(self.gpu_pools):
            if names.count(pool.name) > 1:
                issues.append((("gpu_pools", i, "name"), f"pool name {pool.name!r} is used more than once"))
            try:
                catalog.check_offered(pool.accelerator, self.cloud, pool.gpus_per_node)
            except catalog.CatalogError as exc:
                field = "accelerator" if not catalog.accelerator(pool.accelerator).offered_on(self.cloud) else "gpus_per_node"
                issues.append((("gpu_pools", i, field), str(exc)))
        if self.data_lake.backup and self.data_lake.backup.region == self.region:
            issues.append((("data_lake", "backup", "region"), f"must differ from the cell's region {self.region!r}"))
        if issues:
            raise SpecIssues(issues)
        return self

    @property
    def accelerators(self) -> set[str]:
        return {p.accelerator for p in self.gpu_pools}


# --------------------------------------------------------------------------------------------------- models
class CanarySpec(Strict):
    version: DnsLabel
    artifact: str = Field(min_length=1, description="Path of the canary's artifact inside the lake's models zone.")
    weight: int = Field(10, ge=0, le=100, description="Percent of traffic sent to the canary.")


class ModelSpec(Strict):
    """A model served from the serving image on every cell that has its accelerator."""

    name: DnsLabel
    accelerator: AcceleratorName
    gpus: int = Field(1, ge=1, le=16)
    version: DnsLabel = "v1"
    artifact: str = Field(min_length=1, description="Path inside the lake's models zone, e.g. llm/v1/model.pt")
    replicas: NodeScaling = Field(default_factory=lambda: NodeScaling(min_size=1, max_size=2))
    cpu: str = Field("2", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field("8Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)$")
    shm_size: str = Field("1Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)$")
    max_batch_size: int = Field(32, ge=1, le=4096)
    max_queue_delay_ms: float = Field(5, ge=0, le=10_000)
    target_cpu_utilization: int = Field(70, ge=10, le=100)
    canary: CanarySpec | None = None
    callers: list[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces whose meshed workloads may call the model besides its own (e.g. istio-ingress); "
        "the mesh refuses every other caller by its mTLS identity.",
    )

    @model_validator(mode="after")
    def _canary_differs(self) -> "ModelSpec":
        if self.canary and self.canary.version == self.version:
            raise SpecIssues([(("canary", "version"), f"must differ from the stable version {self.version!r}")])
        if self.replicas.min_size < 1:
            raise SpecIssues([(("replicas", "min_size"), "a served model needs at least 1 replica")])
        return self


def public_endpoint_issue(private_endpoint: bool, public_access_cidrs: list[str]) -> str | None:
    """A public API endpoint must name who may reach it; EKS reads an empty list as 0.0.0.0/0."""
    if private_endpoint or public_access_cidrs:
        return None
    return (
        "a public API endpoint needs the CIDRs allowed to reach it (your VPN or CI egress, e.g. [203.0.113.0/24]); "
        "[0.0.0.0/0] opens it to the internet as an explicit opt-out; or set private_endpoint: true"
    )


# --------------------------------------------------------------------------------------------------- platform
class PlatformSpec(Strict):
    """Everything one stack (environment) stands up."""

    environment: DnsLabel
    protected: bool = Field(
        False, description="Protect data-bearing resources (buckets, keys) from deletion and keep them on delete."
    )
    tags: dict[str, str] = Field(default_factory=dict)
    cells: list[CellSpec] = Field(min_length=1)
    models: list[ModelSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_checks(self) -> "PlatformSpec":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        cell_names = [c.name for c in self.cells]
        for i, cell in enumerate(self.cells):
            if cell_names.count(cell.name) > 1:
                issues.append((("cells", i, "name"), f"cell name {cell.name!r} is used more than once"))
        model_names = [m.name for m in self.models]
        for i, model in enumerate(self.models):
            if model_names.count(model.name) > 1:
                issues.append((("models", i, "name"), f"model name {model.name!r} is used more than once"))
            pools = [p for c in self.cells for p in c.gpu_pools if p.accelerator == model.accelerator]
            if not pools:
                have = sorted({p.accelerator for c in self.cells for p in c.gpu_pools}) or ["none"]
                issues.append(
                    (("models", i, "accelerator"), f"no GPU pool has {model.accelerator!r}; pools offer: {', '.join(have)}")
                )
            elif all(model.gpus > p.gpus_per_node for p in pools):
                most = max(p.gpus_per_node for p in pools)
                issues.append((("models", i, "gpus"), f"{model.gpus} GPUs per replica, but {model.accelerator} nodes have at most {most}"))
        for i, cell in enumerate(self.cells):
            if problem := public_endpoint_issue(self.private_endpoint(cell), cell.cluster.public_access_cidrs):
                issues.append((("cells", i, "cluster", "public_access_cidrs"), problem))
            if self.models and MODELS_ZONE not in cell.data_lake.zones:
                issues.append(
                    (("cells", i, "data_lake", "zones"), f"models are served from the {MODELS_ZONE!r} zone; add it")
                )
        if issues:
            raise SpecIssues(issues)
        return self

    def private_endpoint(self, cell: CellSpec) -> bool:
        return cell.cluster.endpoint_is_private(self.protected)

    def models_for(self, cell: CellSpec) -> list[ModelSpec]:
        return [m for m in self.models if m.accelerator in cell.accelerators]


def parse_model(model: type[BaseModel], data: Any, source: str | None = None):
    """Validate ``data`` as ``model``, turning pydantic's errors into one SpecError with full field paths."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except SpecError as err:
        raise SpecError(err.issues, source or model.__name__) from None
    except ValidationError as err:
        raise SpecError(_issues_from(err, model), source or model.__name__) from None


def parse_platform_spec(data: Mapping[str, Any] | str) -> PlatformSpec:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SpecError([("<root>", f"not valid JSON: {exc}")]) from None
    return parse_model(PlatformSpec, data, f"platform spec ({CONFIG_NAMESPACE}:{CONFIG_KEY})")


def load_platform_spec() -> PlatformSpec:
    """Read and validate the stack's ``lepton-platform:platform`` config; raise SpecError before any resource exists."""
    import pulumi

    raw = pulumi.Config(CONFIG_NAMESPACE).get_object(CONFIG_KEY)
    if raw is None:
        raise SpecError([(f"{CONFIG_NAMESPACE}:{CONFIG_KEY}", "missing: set it in stacks/Pulumi.<stack>.yaml")])
    return parse_platform_spec(raw)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the platform spec, for editor completion of the stack files."""
    schema = PlatformSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
    return schema


# --------------------------------------------------------------------------------------------------- component args
PulumiInput = Annotated[Any, Field(description="A plain value or a pulumi.Output of it.")]


class ComponentArgs(Validated):
    """Base of every component's args: spec parts are validated, Outputs pass through untouched.

    Components call ``parse_model(TheirArgs, args)`` before ``super().__init__`` so bad args raise a SpecError
    naming the field and nothing is registered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
