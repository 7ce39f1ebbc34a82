"""The parts of the platform spec every cloud shares: errors, field types, GPU pools, models, registry, mesh.

Validated before any resource is registered, so a bad config is a clear error naming the field and what would be
right, and nothing is created. Components take these same models as their args: one source of truth.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Iterable, Literal, Sequence, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import core_schema

from .. import catalog
from ..conventions import is_dns_label

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


def _walk(root: type[BaseModel], loc: Sequence[str | int]) -> tuple[tuple[str | int, ...], type[BaseModel] | None]:
    """(the location as the user wrote it, the model class it ends in).

    pydantic puts a tagged union's tag into error locations (``cells.0.aws.gpu_pools``); the user's file has no such
    key, so the tag is dropped from the path, and it picks the union member whose allowed keys an error lists.
    """
    shown: list[str | int] = []
    current: Any = root
    for part in loc:
        if isinstance(part, int):
            shown.append(part)
            continue
        member = _union_member(current, part)
        if member is not None:
            current = member
            continue
        shown.append(part)
        model = _inner_model(current)
        if model is None or part not in model.model_fields:
            current = None
            continue
        current = model.model_fields[part].annotation
    model = _union_member(current, None) or _inner_model(current)
    return tuple(shown), model if isinstance(model, type) and issubclass(model, BaseModel) else None


# The fields a tagged union of the spec is told apart by: a cell's ``cloud``, an existing cell's lake ``kind``.
_UNION_TAGS = ("cloud", "kind")


def _union_member(annotation: Any, tag: str | None) -> type[BaseModel] | None:
    """The member of a tagged union (cells by ``cloud``, lake stores by ``kind``) whose tag is ``tag``."""
    for key in _UNION_TAGS:
        members = [m for m in _models_in(annotation) if key in m.model_fields]
        if tag is not None and len(members) >= 2:
            return next((m for m in members if m.model_fields[key].default == tag), None)
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) or () for m in _models_in(arg)]


def _inner_model(annotation: Any) -> Any:
    found = _models_in(annotation)
    return found[0] if found else None


def _issues_from(err: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    for e in err.errors():
        loc, _ = _walk(root, e["loc"])
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, SpecIssues):
            issues += [(_path(loc + sub), msg) for sub, msg in cause.issues]
        elif e["type"] == "unknown_cloud":  # the cell union's tag (spec/platform.py): name the key, not the cell
            got = e["input"].get("cloud") if isinstance(e.get("input"), dict) else e.get("input")
            issues.append((_path((*loc, "cloud")), f"{e['msg']} (got {got!r})"))
        elif e["type"] == "extra_forbidden":
            _, parent = _walk(root, e["loc"][:-1])
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


# A model that runs on CPU nodes only (ModelSpec accelerator: cpu, gpus: 0): no GPU requested, no GPU node selected.
CPU = "cpu"


def _model_accelerator(value: str) -> str:
    return value if value == CPU else _accelerator_name(value)


def _unique(values: list[str]) -> list[str]:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"duplicate entries {dupes}; each must appear once")
    return values


def schema_rule(**keywords: Any) -> Any:
    """What a validator checks, said in the JSON Schema too (editors and docs/config-reference.md read it there)."""
    return Field(json_schema_extra=keywords)


DnsLabel = Annotated[str, AfterValidator(_dns_label), schema_rule(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength=63)]
NamePrefix = Annotated[str, AfterValidator(_name_prefix), schema_rule(pattern=_NAME_PREFIX.pattern)]
Cidr = Annotated[str, AfterValidator(_cidr), schema_rule(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")]
AcceleratorName = Annotated[str, AfterValidator(_accelerator_name), schema_rule(enum=list(catalog.ACCELERATORS))]
ModelAccelerator = Annotated[str, AfterValidator(_model_accelerator), schema_rule(enum=[CPU, *catalog.ACCELERATORS])]
Capacity = Literal["spot", "on-demand"]
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


# --------------------------------------------------------------------------------------------------- shared cell parts
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


class GpuPoolSpec(NodeScaling):
    name: DnsLabel
    accelerator: AcceleratorName
    gpus_per_node: int = Field(1, ge=1, le=16)
    capacity: Capacity = "on-demand"
    disk_size_gb: int = Field(200, ge=50, le=16384, description="Root volume: images and model caches live here.")

    def offer_issue(self, cloud: str) -> tuple[str, str] | None:
        """(field, message) when ``cloud`` lacks this accelerator or this GPU count; the message names what would work."""
        try:
            catalog.check_offered(self.accelerator, cloud, self.gpus_per_node)  # type: ignore[arg-type]
        except catalog.CatalogError as exc:
            offered = catalog.accelerator(self.accelerator).offered_on(cloud)  # type: ignore[arg-type]
            return ("gpus_per_node" if offered else "accelerator"), str(exc)
        return None

    def require_offered_on(self, cloud: str, source: str = "GpuNodePoolArgs") -> None:
        """A SpecError at ``pool.<field>`` when ``cloud`` cannot give this pool its machines."""
        if issue := self.offer_issue(cloud):
            raise SpecError([(f"pool.{issue[0]}", issue[1])], source)


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


class ClusterEndpointSpec(Strict):
    """What every cloud's cluster spec shares: its Kubernetes version and who may reach its API server.

    One rule on every cloud: private in protected environments unless the spec says otherwise, and a public endpoint
    must name the CIDRs that may reach it (EKS and AKS read an empty list as "everyone"; GKE's authorized networks).
    """

    kubernetes_version: Literal[KUBERNETES_VERSIONS] = DEFAULT_KUBERNETES_VERSION  # type: ignore[valid-type]
    private_endpoint: bool | None = Field(
        None, description="API server reachable only from the cell's network. Defaults to true in protected environments."
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Who may reach a public API server (EKS public access CIDRs, AKS authorized IP ranges, GKE master "
        "authorized networks); required when it is public (0.0.0.0/0 is the explicit opt-out that opens it to all).",
    )

    def endpoint_is_private(self, protected: bool) -> bool:
        """``private_endpoint`` when set; otherwise private exactly in protected environments."""
        return protected if self.private_endpoint is None else self.private_endpoint


class DataLakeZonesSpec(Strict):
    """What every cloud's lake shares: its zones (a bucket / filesystem each) and when data moves to colder tiers."""

    zones: list[DnsLabel] = Field(default_factory=lambda: list(DEFAULT_ZONES), min_length=1)
    lifecycle: LifecycleSpec = Field(default_factory=LifecycleSpec)

    @model_validator(mode="after")
    def _zones(self) -> "DataLakeZonesSpec":
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


# Prometheus's duration syntax for --storage.tsdb.retention.time (prometheus.io/docs/prometheus/latest/configuration/
# configuration/#duration): one or more <number><unit>, units y, w, d, h, m, s, ms.
PROMETHEUS_DURATION = r"^([0-9]+(y|w|d|h|m|s|ms))+$"


class MonitoringSpec(Strict):
    """The cell's metrics: kube-prometheus-stack (Prometheus, Alertmanager, Grafana) and KEDA, which scales the
    models on serving's own metrics from that Prometheus (docs/design.md, "Observability")."""

    enabled: bool = Field(
        True, description="Install the monitoring stack and KEDA; a cell that serves models needs them (they scale on it)."
    )
    chart_version: str = Field("88.5.3", description="kube-prometheus-stack chart (prometheus-community).")
    keda_version: str = Field("2.20.2", description="KEDA chart (kedacore), which scales models on serving metrics.")
    retention: str = Field(
        "15d", pattern=PROMETHEUS_DURATION, description="How long Prometheus keeps samples (a Prometheus duration, e.g. 15d)."
    )
    storage_size: str = Field(
        "50Gi", pattern=r"^\d+(Mi|Gi|Ti)$", description="Prometheus's persistent volume (the cluster's default StorageClass)."
    )


# Audit logs (docs/design.md, "Audit"): who touched the cluster's control plane and the lake's data. Kept a year in
# protected environments, 30 days elsewhere; values every cloud's log store takes (CloudWatch Logs' retention values,
# Log Analytics' 30-730 days, Cloud Logging's 1-3650 days).
AUDIT_RETENTION_DAYS = 30
PROTECTED_AUDIT_RETENTION_DAYS = 365


def audit_retention_field(**constraints: Any) -> Any:
    """``AuditSpec.retention_days`` with what one cloud's log store takes (``ge``/``le``; none for an enumerated type)."""
    return Field(
        None,
        description=f"Days the control plane's audit logs and the lake's data-access logs are kept. Default: "
        f"{PROTECTED_AUDIT_RETENTION_DAYS} in protected environments (the least they accept), {AUDIT_RETENTION_DAYS} "
        "elsewhere.",
        **constraints,
    )


class AuditSpec(Strict):
    """How long a cell keeps its audit logs (control plane and lake data access); each cloud's cell subclasses it
    with what its log store takes. An existing cluster's audit policy is not the platform's: existing cells have none."""

    retention_days: int | None = audit_retention_field(ge=AUDIT_RETENTION_DAYS)

    def retention(self, protected: bool) -> int:
        """``retention_days`` when set, else the environment's default."""
        if self.retention_days is not None:
            return self.retention_days
        return PROTECTED_AUDIT_RETENTION_DAYS if protected else AUDIT_RETENTION_DAYS

    def protected_issue(self, protected: bool) -> str | None:
        """A protected environment keeps its audit trail at least a year (a yearly review must find last year's)."""
        if protected and self.retention(protected) < PROTECTED_AUDIT_RETENTION_DAYS:
            return (
                f"a protected environment keeps audit logs at least {PROTECTED_AUDIT_RETENTION_DAYS} days "
                f"(got {self.retention_days}); raise it or leave it unset"
            )
        return None


# CloudWatch Logs PutRetentionPolicy's retentionInDays values (AWS CloudWatch Logs API reference); GCP keeps what the
# project's _Default log bucket keeps (30 days unless changed there).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class LogsSpec(Strict):
    """The cell's container logs: an OpenTelemetry Collector on every node ships them to the cell's cloud log service,
    or on Azure AKS's monitoring add-on does (docs/design.md, "Observability" > Logs)."""

    enabled: bool = Field(
        True,
        description="Ship every container's logs (a DaemonSet of the OpenTelemetry Collector; Azure: AKS's monitoring "
        "add-on, into the cell's Log Analytics workspace).",
    )
    chart_version: str = Field("0.170.0", description="opentelemetry-collector chart (open-telemetry/opentelemetry-helm-charts).")
    retention_days: Literal[LOG_RETENTION_DAYS] = Field(  # type: ignore[valid-type]
        30,
        description="Days the cloud keeps them where the platform makes the log store (AWS: the cell's log group); "
        "one of the retentions CloudWatch Logs takes. Azure's stay as long as the cell's workspace keeps its audit logs "
        "(audit.retention_days), GCP's as long as the project's _Default bucket keeps entries.",
    )


class CellBase(Strict):
    """One cloud region's share of the platform; each cloud's cell (spec/<cloud>.py) adds its network, cluster and lake.

    GPU pools, registry, GPU runtime and mesh have one definition for every cloud. A cloud's cell declares
    ``cloud: Literal["<cloud>"]``, its ``region`` rule, and ``platform_issues`` for checks that need the platform.
    """

    name: DnsLabel
    region: str
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    gpu_runtime: GpuRuntimeSpec = Field(default_factory=GpuRuntimeSpec)
    mesh: MeshSpec = Field(default_factory=MeshSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    logs: LogsSpec = Field(default_factory=LogsSpec)

    @model_validator(mode="after")
    def _pools_fit_cloud(self) -> "CellBase":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        names = [p.name for p in self.gpu_pools]
        for i, pool in enumerate(self.gpu_pools):
            if names.count(pool.name) > 1:
                issues.append((("gpu_pools", i, "name"), f"pool name {pool.name!r} is used more than once"))
            if issue := pool.offer_issue(self.cloud):  # type: ignore[attr-defined]  (each cloud's cell names it)
                issues.append((("gpu_pools", i, issue[0]), issue[1]))
        if issues:
            raise SpecIssues(issues)
        return self

    # How the cell's VPN gateway gets its public addresses (lepton_infra/spec/interconnect.py): "fixed" before any
    # peer, "per_link" for each peer's connection (AWS), None where the cell joins no VPN (an existing cluster).
    vpn_addresses: ClassVar[str | None] = None

    @property
    def accelerators(self) -> set[str]:
        return {p.accelerator for p in self.gpu_pools}

    def routed_cidrs(self) -> dict[tuple[str, ...], str]:
        """The ranges other cells reach this cell's network on, by field path: routed over the VPN between cells."""
        return {}

    def local_cidrs(self) -> dict[tuple[str, ...], str]:
        """Ranges used only inside the cluster (overlay pods, Services): never routed, but no peer's range may overlap."""
        return {}

    def backup_region_issues(self) -> list[tuple[tuple[str | int, ...], str]]:
        """A lake's backup (AWS replication, GCP cross-bucket replication) must be in another region than the cell."""
        backup = getattr(self.data_lake, "backup", None)  # type: ignore[attr-defined]  (clouds that back up have it)
        if backup and backup.region == self.region:
            return [(("data_lake", "backup", "region"), f"must differ from the cell's region {self.region!r}")]
        return []

    def platform_issues(
        self, protected: bool, serves_models: bool, meshed: bool = False
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems only the platform can see (paths relative to the cell; ``meshed``: the stack joins several cells
        into one mesh): a cloud adds its own to these."""
        issues: list[tuple[tuple[str | int, ...], str]] = []
        zones = self.data_lake.zones  # type: ignore[attr-defined]  (every cloud's cell has a data_lake)
        if serves_models and MODELS_ZONE not in zones:
            issues.append((("data_lake", "zones"), f"models are served from the {MODELS_ZONE!r} zone; add it"))
        if serves_models and not self.monitoring.enabled:
            issues.append((("monitoring", "enabled"), "models scale on serving metrics from the cell's Prometheus (KEDA); "
                                                      "a cell that serves models needs monitoring enabled"))
        audit = getattr(self, "audit", None)  # the cloud cells' (an existing cluster's audit policy is not ours)
        if audit is not None and (problem := audit.protected_issue(protected)):
            issues.append((("audit", "retention_days"), problem))
        cluster = self.cluster  # type: ignore[attr-defined]  (and a cluster)
        # A cluster the platform creates has an API endpoint to scope; an existing cluster's is the customer's own.
        if isinstance(cluster, ClusterEndpointSpec):
            if problem := public_endpoint_issue(cluster.endpoint_is_private(protected), cluster.public_access_cidrs):
                issues.append((("cluster", "public_access_cidrs"), problem))
        return issues


# --------------------------------------------------------------------------------------------------- models
# The bucket bounds of serving_request_duration_seconds (serving/metrics.py ``_SECONDS``; tests/observe checks the two
# agree): a latency objective's threshold must be one, since its alerts count the requests above a bucket's bound.
LATENCY_BUCKETS_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _latency_bucket(value: float) -> float:
    if value not in LATENCY_BUCKETS_SECONDS:
        allowed = ", ".join(f"{b:g}" for b in LATENCY_BUCKETS_SECONDS)
        raise ValueError(f"must be a bucket bound of serving_request_duration_seconds, one of: {allowed}")
    return value


class LatencyObjective(Strict):
    """A model's latency SLO: ``objective`` of its answered requests take at most ``threshold_seconds`` in the server.

    Alerted on with the multi-window, multi-burn-rate method (components/kubernetes/alert_rules.py)."""

    threshold_seconds: Annotated[float, AfterValidator(_latency_bucket)] = Field(
        1.0,
        description="The latency bound, in seconds: a bucket bound of serving's request-duration histogram.",
        json_schema_extra={"enum": list(LATENCY_BUCKETS_SECONDS)},
    )
    objective: float = Field(
        0.99,
        ge=0.95,
        le=0.9999,
        description="The share of answered requests that must meet the bound. At least 0.95: below about 0.93 the "
        "1-hour page (14.4 times the error budget) would need more than every request to be slow, and never fire.",
    )


class CanarySpec(Strict):
    version: DnsLabel
    artifact: str = Field(min_length=1, description="Path of the canary's artifact inside the lake's models zone.")
    weight: int = Field(10, ge=0, le=100, description="Percent of traffic sent to the canary.")


class ModelSpec(Strict):
    """A model served from the serving image on the cells named in ``cells``, by default every cell with its accelerator."""

    name: DnsLabel
    accelerator: ModelAccelerator = Field(
        description=f"A catalog accelerator, or {CPU!r} for a model on CPU nodes (cells that offer CPU models: existing)."
    )
    gpus: int = Field(1, ge=0, le=16, description=f"GPUs per replica; 0 with accelerator {CPU!r} (its default there).")
    version: DnsLabel = "v1"
    artifact: str = Field(min_length=1, description="Path inside the lake's models zone, e.g. llm/v1/model.pt")
    replicas: NodeScaling = Field(default_factory=lambda: NodeScaling(min_size=1, max_size=2))
    cpu: str = Field("2", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field("8Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)$")
    shm_size: str = Field("1Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)$")
    max_batch_size: int = Field(32, ge=1, le=4096)
    max_queue_delay_ms: float = Field(5, ge=0, le=10_000)
    target_queue_depth: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Autoscaling target: requests waiting for a batch per replica (serving_queue_depth summed over the "
        "model's pods, divided by this, is the replica count KEDA aims at). Defaults to max_batch_size.",
    )
    scale_to_zero: bool = Field(
        False,
        description="Let KEDA scale the model to 0 replicas when no request waits. Refused in protected environments. "
        "Not yet woken by traffic: the queue depth comes from the model's own pods, so at 0 there is no signal (scale up "
        "by hand until a caller-side trigger exists, docs/design.md, \"Observability\").",
    )
    canary: CanarySpec | None = None
    latency: LatencyObjective = Field(
        default_factory=LatencyObjective,
        description="The latency SLO its alerts watch (by default 99% of answered requests within 1 s).",
    )
    callers: list[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces whose meshed workloads may call the model besides its own (e.g. istio-ingress); "
        "the mesh refuses every other caller by its mTLS identity.",
    )
    cells: list[DnsLabel] | None = Field(
        None,
        min_length=1,
        description="The cells that serve the model (each must have a pool of its accelerator); by default every cell "
        "that has one. Served in several cells, callers in any cell reach it with failover across them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _cpu_needs_no_gpus(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("accelerator") == CPU and "gpus" not in data:
            return {**data, "gpus": 0}
        return data

    @property
    def on_cpu(self) -> bool:
        return self.accelerator == CPU

    @property
    def queue_depth_target(self) -> int:
        return self.max_batch_size if self.target_queue_depth is None else self.target_queue_depth

    @model_validator(mode="after")
    def _canary_differs(self) -> "ModelSpec":
        if self.on_cpu != (self.gpus == 0):
            raise SpecIssues([(("gpus",), f"must be 0 exactly when accelerator is {CPU!r} (got {self.gpus})")])
        if self.canary and self.canary.version == self.version:
            raise SpecIssues([(("canary", "version"), f"must differ from the stable version {self.version!r}")])
        if self.replicas.min_size < 1:
            raise SpecIssues([(("replicas", "min_size"), "a served model needs at least 1 replica")])
        return self


def scale_to_zero_issue(protected: bool, scale_to_zero: bool) -> str | None:
    """A protected environment keeps every model warm: scaling to zero makes the first request wait for a GPU node."""
    if protected and scale_to_zero:
        return "scale to zero is refused in a protected environment (the first request would wait minutes for a pod and a GPU node)"
    return None


def public_endpoint_issue(private_endpoint: bool, public_access_cidrs: list[str]) -> str | None:
    """A public API endpoint must name who may reach it; EKS reads an empty list as 0.0.0.0/0."""
    if private_endpoint or public_access_cidrs:
        return None
    return (
        "a public API endpoint needs the CIDRs allowed to reach it (your VPN or CI egress, e.g. [203.0.113.0/24]); "
        "[0.0.0.0/0] opens it to the internet as an explicit opt-out; or set private_endpoint: true"
    )


# --------------------------------------------------------------------------------------------------- parsing and component args
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


class _PassedThrough:
    """Pydantic metadata: the field is not validated, so a pulumi.Output (or an awaitable) reaches the component as is."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.any_schema()


_T = TypeVar("_T")
if TYPE_CHECKING:
    # What a type checker sees: PulumiInput[str] is pulumi.Input[str] (a str, an Output of one, or an awaitable).
    from pulumi import Input as PulumiInput
else:
    # At run time the same spelling, without importing pulumi here (the spec is read without the SDK): the value
    # passes through unvalidated, since an Output's value is unknown until the engine resolves it.
    PulumiInput = Annotated[_T, _PassedThrough]


class ComponentArgs(Validated):
    """Base of every component's args: spec parts are validated, Outputs pass through untouched.

    Components call ``parse_model(TheirArgs, args)`` before ``super().__init__`` so bad args raise a SpecError
    naming the field and nothing is registered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class ClusterArgs(ComponentArgs):
    """Base of every cloud's cluster component args: the endpoint rule checked once, for all of them."""

    protected: bool = Field(False, description="Protected environment: the API server is private unless the spec says.")

    @property
    def private_endpoint(self) -> bool:
        return self.spec.endpoint_is_private(self.protected)  # type: ignore[attr-defined]  (each has its spec)

    @model_validator(mode="after")
    def _public_endpoint_is_scoped(self) -> "ClusterArgs":
        if problem := public_endpoint_issue(self.private_endpoint, self.spec.public_access_cidrs):  # type: ignore[attr-defined]
            raise SpecIssues([(("spec", "public_access_cidrs"), problem)])
        return self


__all__ = [
    "LOG_RETENTION_DAYS",
    "LogsSpec",
    "ClusterArgs",
    "ClusterEndpointSpec",
    "AcceleratorName",
    "AUDIT_RETENTION_DAYS",
    "AuditSpec",
    "audit_retention_field",
    "CONFIG_KEY",
    "CPU",
    "CONFIG_NAMESPACE",
    "CONTENT_HASH_LENGTH",
    "CanarySpec",
    "Capacity",
    "CellBase",
    "Cidr",
    "ComponentArgs",
    "DEFAULT_KUBERNETES_VERSION",
    "DEFAULT_ZONES",
    "DataLakeZonesSpec",
    "DnsLabel",
    "GpuPoolSpec",
    "GpuRuntimeSpec",
    "KUBERNETES_VERSIONS",
    "LATENCY_BUCKETS_SECONDS",
    "LatencyObjective",
    "LifecycleSpec",
    "MODELS_ZONE",
    "MeshSpec",
    "MonitoringSpec",
    "PROMETHEUS_DURATION",
    "PROTECTED_AUDIT_RETENTION_DAYS",
    "ModelAccelerator",
    "ModelSpec",
    "NamePrefix",
    "NodeScaling",
    "PulumiInput",
    "RELEASE_TAG_PATTERN",
    "RegistrySpec",
    "S3_RESERVED_PREFIXES",
    "SpecError",
    "SpecIssues",
    "Strict",
    "Validated",
    "parse_model",
    "public_endpoint_issue",
    "scale_to_zero_issue",
]
