"""The platform's policy: rules written once as plain functions over resources, run two ways.

Over the offline plan (no engine, no credentials)::

    from lepton_infra.policy import StackContext, evaluate
    violations = evaluate(run_stack("prod", "stacks"), StackContext.of_spec(spec))

and as a Pulumi CrossGuard pack (policy-pack/: ``pulumi preview --policy-pack policy-pack``), which wraps each rule
in a ResourceValidationPolicy or StackValidationPolicy, MANDATORY. One module per rule family; ``RULES`` lists them
all, and both ways run exactly that list.
"""

from __future__ import annotations

from typing import Iterable

from ..testing.plan import OfflinePlan, PlannedResource
from . import clusters, encryption, identity, images, mesh, protection, public_access, tls, versioning, workloads
from ._model import PLATFORM_CONFIG_KEY, Resource, Rule, StackContext, Violation

RULES: tuple[Rule, ...] = (
    encryption.RULE,
    public_access.RULE,
    tls.RULE,
    versioning.RULE,
    protection.RULE,
    clusters.RULE,
    mesh.RULE,
    workloads.HARDENING_RULE,
    workloads.GPU_RULE,
    identity.RULE,
    images.RULE,
)


def resource_of(planned: PlannedResource) -> Resource:
    """A planned resource as the rules see it (a provider reference ``<urn>::<id>`` reduced to the provider's URN)."""
    provider = planned.provider.rsplit("::", 1)[0] if planned.provider else None
    return Resource(
        type=planned.type, name=planned.name, urn=planned.urn, inputs=planned.inputs, protect=planned.protect,
        parent=planned.parent, provider=provider,
    )


def check(resources: Iterable[Resource], stack: StackContext, rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` among ``resources``, in rule order then resource order."""
    resources = list(resources)
    return [violation for rule in rules for violation in rule.run(resources, stack)]


def evaluate(plan: OfflinePlan, stack: StackContext) -> list[Violation]:
    """Every rule over an offline plan: the violations, empty when the plan passes. Custom resources only (component
    resources hold no settings of their own); ``stack`` says whether the environment is protected."""
    return check((resource_of(r) for r in plan.resources if r.custom), stack)


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.enforcement == "mandatory"]


__all__ = [
    "PLATFORM_CONFIG_KEY",
    "RULES",
    "Resource",
    "Rule",
    "StackContext",
    "Violation",
    "check",
    "evaluate",
    "mandatory",
    "resource_of",
]
