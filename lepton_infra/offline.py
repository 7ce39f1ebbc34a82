"""Run a Pulumi program or component offline, under realistic mocks, and get back every resource it declares.

The engine and provider plugins are not needed: the Python SDK talks to an in-process mock monitor. This serves
this repo's tests, users' own tests, and the offline plan diff on pull requests.

    from lepton_infra.offline import run

    plan = run(lambda: EksCluster("c", args), config={"aws:region": "us-east-1"})
    cluster = plan.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]

The mocks answer like the real providers do (ARNs, endpoints, OIDC issuers, kubeconfigs, repository URLs), so
code that parses those values is exercised; an invoke they do not know is an error, not a silent empty answer.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import runpy
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .stack_files import read_stack_config

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
SECRET_MASK = "[secret]"

InputPath = tuple[str | int, ...]  # where a value sits inside a resource's inputs: ("registries", 0, "password")


# --------------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registered, as the engine would have received it."""

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    custom: bool
    protect: bool
    retain_on_delete: bool
    provider: str | None
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)  # create / update / delete, when set
    secret_inputs: frozenset[InputPath] = frozenset()  # paths of the inputs the program marked secret
    aliases: tuple[str, ...] = ()  # earlier URNs this resource answers to (the engine moves state, not the resource)

    @property
    def parent_name(self) -> str | None:
        return self.parent.rsplit("::", 1)[-1] if self.parent else None

    def is_secret(self, *path: str | int) -> bool:
        """Whether the input at ``path`` (or a value around it) was marked secret by the program."""
        return any(path[: len(secret)] == secret for secret in self.secret_inputs)

    def masked_inputs(self) -> Mapping[str, Any]:
        """The inputs with every secret value replaced by ``[secret]``: what any printed plan shows."""
        return _masked(self.inputs, self.secret_inputs)


@dataclass
class OfflinePlan:
    resources: list[PlannedResource] = field(default_factory=list)
    invokes: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    # Absolute local paths -> placeholders, so a printed plan reads the same in every checkout (docker contexts).
    local_roots: dict[str, str] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        """The single resource of a type (and name); an error that lists what exists when there is not exactly one."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_}{f' named {name!r}' if name else ''}, found {len(found)}: {names}")
        return found[0]

    def children(self, parent: PlannedResource) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: PlannedResource) -> list[PlannedResource]:
        out, frontier = [], [parent.urn]
        while frontier:
            urn = frontier.pop()
            kids = [r for r in self.resources if r.parent == urn]
            out += kids
            frontier += [k.urn for k in kids]
        return out

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def summary(self) -> list[dict[str, Any]]:
        """A JSON-able, deterministic view of the plan: what an offline plan diff compares.

        Secrets are masked, and local paths are relative to placeholders (``<project>``, ``<site-packages>``), so
        two checkouts of one commit give the same summary and nothing secret is ever printed.
        """
        return sorted(
            (
                {
                    "urn": r.urn,
                    "type": r.type,
                    "inputs": self._portable(_jsonable(r.masked_inputs())),
                    "protect": r.protect,
                    "retain_on_delete": r.retain_on_delete,
                }
                for r in self.resources
            ),
            key=lambda r: r["urn"],
        )

    def masked_outputs(self) -> dict[str, Any]:
        """The stack's outputs, secret ones replaced by ``[secret]``."""
        return {k: SECRET_MASK if k in self.secret_outputs else v for k, v in self.stack_outputs.items()}

    def _portable(self, value: Any) -> Any:
        if isinstance(value, str):
            for root, placeholder in sorted(self.local_roots.items(), key=lambda kv: -len(kv[0])):
                if value == root or value.startswith(root + "/"):
                    return placeholder + value[len(root) :]
            return value
        if isinstance(value, dict):
            return {k: self._portable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._portable(v) for v in value]
        return value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _masked(value: Any, secrets: Iterable[InputPath], path: InputPath = ()) -> Any:
    if path in secrets:
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {k: _masked(v, secrets, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets, path + (i,)) for i, v in enumerate(value)]
    return value


def unwrap_secrets(value: Any, path: InputPath = ()) -> tuple[Any, set[InputPath]]:
    """(value with the SDK's secret wrappers removed, the paths that were wrapped).

    The SDK marks a secret by wrapping it, and pushes the mark up to the enclosing list or dict; the path recorded
    is that of the outermost wrapper, so masking it hides everything the program marked secret.
    """
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        plain, _ = unwrap_secrets(rpc.unwrap_rpc_secret(value), path)
        return plain, {path}
    secrets: set[InputPath] = set()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k], inner = unwrap_secrets(v, path + (k,))
            secrets |= inner
        return out, secrets
    if isinstance(value, list):
        items = []
        for i, v in enumerate(value):
            item, inner = unwrap_secrets(v, path + (i,))
            items.append(item)
            secrets |= inner
        return items, secrets
    return value, secrets


# --------------------------------------------------------------------------------------------------- mocks
def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _fake_pem(seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 4).decode()
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64)) + "\n-----END CERTIFICATE-----\n"


class RealisticMocks:
    """Answers resource registrations and invokes with values shaped like the real providers' outputs."""

    def __init__(self, region: str = DEFAULT_REGION, account_id: str = ACCOUNT_ID):
        self.region = region
        self.account_id = account_id
        self._provider_regions: dict[str, str] = {}

    # pulumi.runtime.Mocks interface -------------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        region = self._region_of(args.provider, inputs)
        handler = _RESOURCE_OUTPUTS.get(args.typ)
        if args.typ.startswith("pulumi:providers:"):
            rid = f"{args.name}-{_hex(args.name, 8)}"
            if "region" in inputs:
                self._provider_regions[rid] = inputs["region"]
            return rid, inputs
        if handler is None:
            return f"{args.name}-{_hex(args.typ + args.name, 8)}", inputs
        rid, extra = handler(self, args.name, inputs, region)
        return rid, {**inputs, **extra}

    def call(self, args) -> dict:
        handler = _INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(
                f"offline mocks do not know the invoke {args.token!r}; add it to lepton_infra.offline._INVOKES "
                "with a realistic answer"
            )
        return handler(self, dict(args.args), self._region_of(args.provider, args.args))

    # helpers ------------------------------------------------------------------------------------
    def _region_of(self, provider_ref: str | None, inputs: Mapping[str, Any]) -> str:
        if provider_ref:
            rid = provider_ref.rsplit("::", 1)[-1]
            if rid in self._provider_regions:
                return self._provider_regions[rid]
        return inputs.get("region") or self.region

    def arn(self, service: str, region: str, resource: str, account: bool = True) -> str:
        return f"arn:aws:{service}:{region}:{self.account_id if account else ''}:{resource}"


def _named(inputs: Mapping[str, Any], name: str, key: str = "name") -> str:
    return inputs.get(key) or f"{name}-{_hex(name, 7)}"


def _vpc(m, name, inputs, region):
    rid = f"vpc-{_hex(name, 17)}"
    return rid, {"arn": m.arn("ec2", region, f"vpc/{rid}"), "defaultSecurityGroupId": f"sg-{_hex(rid, 17)}"}


def _ec2(prefix: str, kind: str):
    def handler(m, name, inputs, region):
        rid = f"{prefix}-{_hex(kind + name, 17)}"
        extra = {"arn": m.arn("ec2", region, f"{kind}/{rid}")}
        if kind == "elastic-ip":
            extra["publicIp"] = f"52.{int(_hex(name, 2), 16)}.{int(_hex(name + 'b', 2), 16)}.10"
            extra["allocationId"] = rid
        if kind == "launch-template":
            extra["latestVersion"] = 1
            extra["defaultVersion"] = 1
        return rid, extra

    return handler


def _kms_key(m, name, inputs, region):
    key_id = f"{_hex(name, 8)}-{_hex(name + '1', 4)}-{_hex(name + '2', 4)}-{_hex(name + '3', 4)}-{_hex(name + '4', 12)}"
    return key_id, {"arn": m.arn("kms", region, f"key/{key_id}"), "keyId": key_id}


def _iam(kind: str):
    def handler(m, name, inputs, region):
        physical = _named(inputs, name)
        extra = {"arn": m.arn("iam", "", f"{kind}/{physical}"), "name": physical, "uniqueId": f"AROA{_hex(name, 17).upper()}"}
        return physical, extra

    return handler


def _oidc_provider(m, name, inputs, region):
    url = str(inputs.get("url", "")).removeprefix("https://")
    return m.arn("iam", "", f"oidc-provider/{url}"), {"arn": m.arn("iam", "", f"oidc-provider/{url}")}


def _eks_cluster(m, name, inputs, region):
    physical = _named(inputs, name)
    issuer_id = _hex(physical, 32).upper()
    return physical, {
        "name": physical,
        "arn": m.arn("eks", region, f"cluster/{physical}"),
        "endpoint": f"https://{issuer_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(_fake_pem(physical).encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{issuer_id}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_hex(physical, 17)}"},
    }


def _eks_child(kind: str):
    def handler(m, name, inputs, region):
        cluster = inputs.get("clusterName", "cluster")
        child = inputs.get("nodeGroupName") or inputs.get("addonName") or inputs.get("principalArn") or name
        extra = {"arn": m.arn("eks", region, f"{kind}/{cluster}/{child}/{_hex(name, 8)}"), "status": "ACTIVE"}
        if kind == "nodegroup":
            # EKS names a managed node group's Auto Scaling group eks-<nodegroup>-<uuid>.
            extra["resources"] = [{"autoscalingGroups": [{"name": f"eks-{child}-{_hex(name, 8)}-{_hex(name + 'u', 4)}"}]}]
        return f"{cluster}:{child}", extra

    return handler


def _bucket(m, name, inputs, region):
    physical = inputs.get("bucket") or f"{name}-{_hex(name, 7)}"
    return physical, {
        "bucket": physical,
        "arn": f"arn:aws:s3:::{physical}",
        "bucketDomainName": f"{physical}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{physical}.s3.{region}.amazonaws.com",
        "region": region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _ecr_repository(m, name, inputs, region):
    physical = _named(inputs, name)
    return physical, {
        "arn": m.arn("ecr", region, f"repository/{physical}"),
        "registryId": m.account_id,
        "repositoryUrl": f"{m.account_id}.dkr.ecr.{region}.amazonaws.com/{physical}",
    }


def _glue_database(m, name, inputs, region):
    physical = _named(inputs, name)
    return f"{m.account_id}:{physical}", {"arn": m.arn("glue", region, f"database/{physical}"), "catalogId": m.account_id}


def _log_group(m, name, inputs, region):
    physical = _named(inputs, name)
    return physical, {"arn": m.arn("logs", region, f"log-group:{physical}")}


def _docker_image(m, name, inputs, region):
    # A registry digest depends on the image's content, which the content-addressed tag, build args and platforms
    # stand for; never on where the build context sits on this machine.
    content = {k: inputs.get(k) for k in ("tags", "buildArgs", "platforms", "target")}
    digest = "sha256:" + hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    tags = inputs.get("tags") or [f"{name}:latest"]
    return f"{name}-{digest[7:19]}", {"digest": digest, "ref": f"{tags[0].split(':')[0]}@{digest}"}


def _k8s(m, name, inputs, region):
    meta = inputs.get("metadata") or {}
    ns = meta.get("namespace")
    obj = meta.get("name") or name
    return (f"{ns}/{obj}" if ns else obj), {"metadata": {**meta, "name": obj, "uid": _hex(name, 32)}}


def _helm_release(m, name, inputs, region):
    ns = inputs.get("namespace", "default")
    rname = inputs.get("name") or name
    return f"{ns}/{rname}", {"name": rname, "status": {"status": "deployed", "namespace": ns, "name": rname, "revision": 1}}


_RESOURCE_OUTPUTS: dict[str, Callable[..., tuple[str, dict]]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _ec2("eipalloc", "elastic-ip"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/launchTemplate:LaunchTemplate": _ec2("lt", "launch-template"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpce", "vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:kms/key:Key": _kms_key,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_child("nodegroup"),
    "aws:eks/addon:Addon": _eks_child("addon"),
    "aws:eks/accessEntry:AccessEntry": _eks_child("access-entry"),
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:glue/catalogDatabase:CatalogDatabase": _glue_database,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "docker-build:index:Image": _docker_image,
    "kubernetes:helm.sh/v3:Release": _helm_release,
}


def _k8s_outputs(typ: str):
    return _k8s if typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release" else None


# --------------------------------------------------------------------------------------------------- invokes
def _azs(m, args, region):
    letters = "abcdef"
    return {
        "names": [f"{region}{c}" for c in letters[:3]],
        "zoneIds": [f"use1-az{i}" for i in range(1, 4)],
        "id": region,
        "state": args.get("state", "available"),
    }


def _caller_identity(m, args, region):
    return {"accountId": m.account_id, "arn": f"arn:aws:iam::{m.account_id}:user/ci", "userId": "AIDAEXAMPLE", "id": m.account_id}


def _partition(m, args, region):
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(m, args, region):
    return {"name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com", "description": region, "id": region}


def _ecr_token(m, args, region):
    password = base64.b64encode(b"offline-token").decode()
    return {
        "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
        "userName": "AWS",
        "password": password,
        "proxyEndpoint": f"https://{m.account_id}.dkr.ecr.{region}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": region,
    }


_INVOKES: dict[str, Callable[..., dict]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _azs,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
}


# --------------------------------------------------------------------------------------------------- runner
class _RecordingMocks:
    """Adapts RealisticMocks to pulumi.runtime.Mocks and records the invokes made."""

    def __init__(self, inner: RealisticMocks, plan: OfflinePlan):
        self.inner, self.plan = inner, plan

    def new_resource(self, args):
        handler = _k8s_outputs(args.typ)
        if handler is not None:
            rid, extra = handler(self.inner, args.name, dict(args.inputs), self.inner.region)
            return rid, {**args.inputs, **extra}
        return self.inner.new_resource(args)

    def call(self, args):
        self.plan.invokes.append((args.token, dict(args.args)))
        return self.inner.call(args)


def _custom_timeouts(request) -> dict[str, str]:
    timeouts = request.customTimeouts
    return {op: getattr(timeouts, op) for op in ("create", "update", "delete") if getattr(timeouts, op)}


def _alias_urn(alias, request, urn: str) -> str:
    """An alias as the URN it stands for: given as one, or as a spec of what changed (name, type, parent)."""
    if alias.urn:
        return alias.urn
    spec = alias.spec
    name, type_ = spec.name or request.name, spec.type or request.type
    if spec.noParent:
        qualified = type_
    else:
        parent = spec.parentUrn or request.parent
        parent_type = _qualified_type(parent)
        qualified = type_ if parent_type == "pulumi:pulumi:Stack" else f"{parent_type}${type_}"
    stack, project = urn.split("::")[0].removeprefix("urn:pulumi:"), urn.split("::")[1]
    return f"urn:pulumi:{spec.stack or stack}::{spec.project or project}::{qualified}::{name}"


def _qualified_type(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<parent$...$type>::<name> -> <parent$...$type>."""
    return urn.split("::")[2]


def _recording_monitor(mocks, plan: OfflinePlan):
    import pulumi
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """The URN the engine gives: the parent's whole type chain (the Stack left out), not only its last type
            as pulumi's MockMonitor does; aliases and plan diffs of nested components depend on it."""
            if parent and _qualified_type(parent) != "pulumi:pulumi:Stack":
                type_ = f"{_qualified_type(parent)}${type_}"
            return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                registered = self.resources[response.urn]
                inputs, secret_inputs = unwrap_secrets(rpc.deserialize_properties(request.object))
                plan.resources.append(
                    PlannedResource(
                        type=request.type,
                        name=request.name,
                        urn=response.urn,
                        parent=None if "::pulumi:pulumi:Stack::" in request.parent else (request.parent or None),
                        inputs=inputs,
                        outputs=dict(registered.state),
                        custom=bool(request.custom),
                        protect=bool(request.protect),
                        retain_on_delete=bool(request.retainOnDelete),
                        provider=request.provider or None,
                        dependencies=tuple(request.dependencies),
                        ignore_changes=tuple(request.ignoreChanges),
                        custom_timeouts=_custom_timeouts(request),
                        secret_inputs=frozenset(secret_inputs),
                        aliases=tuple(_alias_urn(alias, request, response.urn) for alias in request.aliases),
                    )
                )
            return response

        def RegisterResourceOutputs(self, request):
            # Only the stack's own outputs (pulumi.export): a component's register_outputs is not a stack output.
            if _qualified_type(request.urn) == "pulumi:pulumi:Stack":
                outputs, secrets = unwrap_secrets(rpc.deserialize_properties(request.outputs))
                plan.stack_outputs.update(outputs)
                plan.secret_outputs.update(str(path[0]) for path in secrets)
            return super().RegisterResourceOutputs(request)

    return RecordingMonitor(mocks)


def run(
    program: Callable[[], Any],
    *,
    config: Mapping[str, Any] | None = None,
    project: str = "lepton-platform",
    stack: str = "dev",
    preview: bool = False,
    mocks: RealisticMocks | None = None,
    plan: OfflinePlan | None = None,
) -> OfflinePlan:
    """Run ``program`` (a callable that declares resources) under mocks; return every registered resource.

    ``config`` maps full keys ("aws:region", "lepton-platform:platform") to values; structured values may be given
    as Python objects. Each run gets a fresh Pulumi runtime context, so runs do not leak into each other.
    Secret inputs and outputs are recorded unwrapped, with their paths (``secret_inputs``, ``secret_outputs``), so
    tests read plain values and printed plans mask them.
    An exception raised by the program propagates after the runtime has settled; pass your own ``plan`` to see
    what had been registered by then (for example: nothing, when a config is rejected up front).
    """
    plan = plan if plan is not None else OfflinePlan()
    plan.local_roots.setdefault(sysconfig.get_paths()["purelib"], "<site-packages>")
    # Where lepton-infra itself lives (site-packages, or the checkout of an editable install): the serving sources.
    plan.local_roots.setdefault(str(Path(__file__).resolve().parents[1]), "<lepton-infra>")
    plan.local_roots.setdefault(str(Path.cwd()), "<cwd>")
    inner = mocks or RealisticMocks(region=str((config or {}).get("aws:region", DEFAULT_REGION)))
    return contextvars.Context().run(_run_in_fresh_context, program, dict(config or {}), project, stack, preview, inner, plan)


def _run_in_fresh_context(program, config, project, stack, preview, inner, plan) -> OfflinePlan:
    import asyncio

    import pulumi
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.stack import run_pulumi_func

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The SDK keeps outstanding output tasks on a process-wide set; a failed run would leave tasks of its closed
    # loop there for the next run to wait on (pulumi.runtime.test clears it the same way).
    SETTINGS.outputs.clear()
    try:
        pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
        recording = _RecordingMocks(inner, plan)
        pulumi.runtime.set_mocks(recording, project=project, stack=stack, preview=preview, monitor=_recording_monitor(recording, plan))
        loop.run_until_complete(run_pulumi_func(lambda: _program_with_outputs(program)))
    finally:
        SETTINGS.outputs.clear()
        loop.close()
        asyncio.set_event_loop(None)
    return plan


def _program_with_outputs(program: Callable[[], Any]) -> None:
    """Run the program, then register the stack's exports (set_mocks' stack closed before the program ran)."""
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import massage

    program()
    root = get_root_resource()
    root.register_outputs(massage(root.outputs, []))


def run_stack(stack: str, stacks_dir: str | Path, config_overrides: Mapping[str, Any] | None = None, **kwargs) -> OfflinePlan:
    """Run a stack program directory (its __main__.py) offline with its Pulumi.<stack>.yaml config."""
    stacks_dir = Path(stacks_dir).resolve()
    config = {**read_stack_config(stack, stacks_dir), **(config_overrides or {})}
    main = stacks_dir / "__main__.py"
    plan = kwargs.pop("plan", None) or OfflinePlan()
    plan.local_roots[str(_project_root(stacks_dir))] = "<project>"

    def program():
        sys.path.insert(0, str(stacks_dir))
        try:
            runpy.run_path(str(main), run_name="__main__")
        finally:
            sys.path.remove(str(stacks_dir))

    return run(program, config=config, stack=stack, plan=plan, **kwargs)


def _project_root(start: Path) -> Path:
    """The directory of the Pulumi.yaml that holds ``start`` (where `pulumi up` runs), else ``start`` itself."""
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return start
