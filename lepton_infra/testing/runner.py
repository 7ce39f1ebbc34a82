"""Run a program under the recording mock monitor: a fresh Pulumi runtime per run, URNs as the engine makes them."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import json
import runpy
import sys
import sysconfig
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import outbound
from ..spec import SpecError
from ..stack_files import read_stack_config
from .mocks import RealisticMocks
from .plan import OfflinePlan, PlannedResource, unwrap_secrets


class _RecordingMocks:
    """Adapts RealisticMocks to pulumi.runtime.Mocks and records the invokes made."""

    def __init__(self, inner: RealisticMocks, plan: OfflinePlan):
        self.inner, self.plan = inner, plan

    def new_resource(self, args):
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
    plan.local_roots.setdefault(str(Path(__file__).resolve().parents[2]), "<lepton-infra>")
    plan.local_roots.setdefault(str(Path.cwd()), "<cwd>")
    inner = mocks or RealisticMocks(region=_default_region(config or {}))
    with fewer_collections():
        return contextvars.Context().run(_run_in_fresh_context, program, dict(config or {}), project, stack, preview, inner, plan)


# A run allocates mostly long-lived objects (the cloud SDKs' classes on first import, then the resources): with
# CPython's default first threshold (700 allocations) the cyclic collector ran some 1,800 times during a cold run of
# prod, each pass over a heap of 0.8 million objects, 40% of the run (benchmarks/README.md). Cycles are still
# collected, a little later.
GC_FIRST_THRESHOLD = 10_000


@contextlib.contextmanager
def fewer_collections():
    """Raise the collector's first threshold for the run, and put the caller's thresholds back after it."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], GC_FIRST_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


# Where each provider's config says its resources go; the first one set is the default region of the mocks.
REGION_KEYS = ("aws:region", "azure-native:location", "gcp:region")


def _default_region(config: Mapping[str, Any]) -> str | None:
    return next((str(config[key]) for key in REGION_KEYS if config.get(key)), None)


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
        with outbound.answered_by(inner.outbound):
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


def rejected(build: Callable[[], Any], **run_options: Any) -> tuple[SpecError, OfflinePlan]:
    """The SpecError ``build`` raises under :func:`run` (``run_options`` passed on) and the plan it left behind, so a
    test can assert both the message and that nothing was registered; an AssertionError when nothing is raised."""
    plan = run_options.pop("plan", None) or OfflinePlan()
    try:
        run(build, plan=plan, **run_options)
    except SpecError as error:
        return error, plan
    raise AssertionError("expected a SpecError, and the program ran without one")


def run_stack(
    stack: str,
    stacks_dir: str | Path,
    config_overrides: Mapping[str, Any] | None = None,
    *,
    program_dir: str | Path | None = None,
    **kwargs,
) -> OfflinePlan:
    """Run a stack program offline with its ``<stacks_dir>/Pulumi.<stack>.yaml`` config.

    The program is ``<program_dir>/__main__.py``; ``program_dir`` defaults to ``stacks_dir`` (a project whose
    Pulumi.yaml keeps program and stack files together; lepton_infra.project finds both as Pulumi does).
    """
    stacks_dir = Path(stacks_dir).resolve()
    program_dir = Path(program_dir).resolve() if program_dir is not None else stacks_dir
    config = {**read_stack_config(stack, stacks_dir), **(config_overrides or {})}
    main = program_dir / "__main__.py"
    plan = kwargs.pop("plan", None) or OfflinePlan()
    plan.local_roots[str(_project_root(program_dir))] = "<project>"

    def program():
        sys.path.insert(0, str(program_dir))
        try:
            runpy.run_path(str(main), run_name="__main__")
        finally:
            sys.path.remove(str(program_dir))

    return run(program, config=config, stack=stack, plan=plan, **kwargs)


def _project_root(start: Path) -> Path:
    """The directory of the Pulumi.yaml that holds ``start`` (where `pulumi up` runs), else ``start`` itself."""
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return start
