"""The lepton-platform policy pack: every rule of lepton_infra.policy.RULES as a CrossGuard policy, MANDATORY.

A rule that reads one resource becomes a ResourceValidationPolicy (it sees the inputs as registered); a rule that
joins resources (a bucket and its encryption configuration) becomes a StackValidationPolicy (it sees every
resource's state once the stack is known). The stack's environment and protection come from the stack's config key
``lepton-platform:platform``, which the engine hands to policy packs (pulumi/pulumi#20570 tests that stack config is
readable from policy packs; pulumi_policy sets it from PULUMI_CONFIG before each analysis).

A stack rule's acknowledged exceptions (a finding the spec opts out of by name, e.g. an Azure cell's
``registry.customer_managed_key: false``) are reported by the rule's ADVISORY twin, ``<rule>-acknowledged``: CrossGuard
gives a policy one enforcement level, and such a finding must be seen without failing the preview.

During a preview, a value not known yet (a new key's ARN) makes the SDK report that rule as not decidable for that
resource, advisory; the same rule runs again, with known values, during ``pulumi up``.
"""

import pulumi
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

from lepton_infra.policy import PLATFORM_CONFIG_KEY, RULES, Resource, Rule, StackContext

PACK_NAME = "lepton-platform"
ACKNOWLEDGED_SUFFIX = "-acknowledged"


def stack_context() -> StackContext:
    raw = pulumi.runtime.get_config(PLATFORM_CONFIG_KEY)
    return StackContext.of_config({PLATFORM_CONFIG_KEY: raw} if raw is not None else {})


def resource_of_args(args) -> Resource:
    """A ResourceValidationArgs as the rules' Resource (props are the inputs)."""
    return Resource(
        type=args.resource_type, name=args.name, urn=args.urn, inputs=args.props, protect=bool(args.opts.protect),
        parent=args.opts.parent, provider=args.provider.urn if args.provider else None,
    )


def resource_of_policy_resource(resource) -> Resource:
    """A StackValidationArgs resource (PolicyResource) as the rules' Resource (props are its state)."""
    return Resource(
        type=resource.resource_type, name=resource.name, urn=resource.urn, inputs=resource.props,
        protect=bool(resource.opts.protect), parent=resource.parent.urn if resource.parent else None,
        provider=resource.provider.urn if resource.provider else None,
    )


def policy(rule: Rule):
    if rule.scope == "resource":

        def validate_resource(args, report_violation):
            for message in rule.check(resource_of_args(args), stack_context()):
                report_violation(message, None)

        return ResourceValidationPolicy(
            name=rule.name, description=rule.description, validate=validate_resource,
            enforcement_level=EnforcementLevel.MANDATORY,
        )

    return stack_policy(rule, acknowledged=False)


def stack_policy(rule: Rule, acknowledged: bool):
    """The rule's findings (MANDATORY), or its acknowledged exceptions (ADVISORY, ``<rule>-acknowledged``)."""

    def validate_stack(args, report_violation):
        resources = [resource_of_policy_resource(r) for r in args.resources]
        for urn, message, *level in rule.check(resources, stack_context()):
            if bool(level) == acknowledged:
                report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name + (ACKNOWLEDGED_SUFFIX if acknowledged else ""),
        description=("Acknowledged exceptions (named opt-outs in the spec) to: " if acknowledged else "") + rule.description,
        validate=validate_stack,
        enforcement_level=EnforcementLevel.ADVISORY if acknowledged else EnforcementLevel.MANDATORY,
    )


POLICIES = [policy(rule) for rule in RULES] + [stack_policy(rule, True) for rule in RULES if rule.acknowledges]

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
