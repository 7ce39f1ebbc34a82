"""The CrossGuard pack (policy-pack/) wires every rule, MANDATORY, as the right kind of policy, and its policies,
run by the real pulumi_policy SDK on a stack's resources the way the engine hands them over (props behind the SDK's
unknown-checking proxies, options, providers, the stack's config in PULUMI_CONFIG), report exactly what the offline
evaluation reports. No engine runs: the pack's module is imported with PolicyPack (which would serve gRPC forever)
replaced by a recorder."""

from __future__ import annotations

import contextvars
import json
import runpy
import sys
import types
from pathlib import Path

import pulumi
import pulumi_policy
import pytest
import yaml
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UnknownValueError, unknown_checking_proxy

from lepton_infra.policy import PLATFORM_CONFIG_KEY, RULES, StackContext, evaluate
from lepton_infra.stack_files import read_stack_config
from stack_support import STACKS, planned_stack

PACK = Path(__file__).resolve().parents[2] / "policy-pack"


class Recorder:
    packs: list[dict] = []

    def __init__(self, **kwargs):
        Recorder.packs.append(kwargs)


def load_pack(monkeypatch, policy_module) -> dict:
    Recorder.packs = []
    monkeypatch.setitem(sys.modules, "pulumi_policy", policy_module)
    monkeypatch.setattr(policy_module, "PolicyPack", Recorder, raising=False)
    namespace = runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    assert len(Recorder.packs) == 1, "the pack constructs exactly one PolicyPack"
    return namespace


def fake_pulumi_policy() -> types.ModuleType:
    """A stand-in with the names the pack imports, recording what it is given."""
    fake = types.ModuleType("pulumi_policy")
    fake.EnforcementLevel = types.SimpleNamespace(MANDATORY="mandatory", ADVISORY="advisory")

    class Policy:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    fake.ResourceValidationPolicy = type("ResourceValidationPolicy", (Policy,), {})
    fake.StackValidationPolicy = type("StackValidationPolicy", (Policy,), {})
    return fake


def test_the_pack_wires_every_rule_mandatory_under_a_fake_sdk(monkeypatch):
    """Every rule MANDATORY; a rule that acknowledges named opt-outs also as its ADVISORY twin, which reports those."""
    fake = fake_pulumi_policy()
    load_pack(monkeypatch, fake)
    pack = Recorder.packs[0]
    assert pack["name"] == "lepton-platform" and pack["enforcement_level"] == "mandatory"
    policies = pack["policies"]
    twins = [rule for rule in RULES if rule.acknowledges]
    assert [rule.name for rule in twins] == ["customer-managed-encryption"]
    assert [p.name for p in policies] == [rule.name for rule in RULES] + [f"{rule.name}-acknowledged" for rule in twins]
    for policy, rule in zip(policies, RULES):
        kind = fake.ResourceValidationPolicy if rule.scope == "resource" else fake.StackValidationPolicy
        assert type(policy) is kind, rule.name
        assert policy.enforcement_level == "mandatory" and policy.description == rule.description
    for policy, rule in zip(policies[len(RULES):], twins):
        assert type(policy) is fake.StackValidationPolicy and policy.enforcement_level == "advisory"
        assert policy.description.endswith(rule.description)


def test_the_pack_project_file_is_a_python_policy_pack():
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python" and project["version"]
    requirements = (PACK / "requirements.txt").read_text()
    assert "pulumi-policy" in requirements and "-e .." in requirements


def engine_view(resource):
    """A planned resource as the engine gives it to a policy pack (pulumi_policy's own argument types)."""
    provider = None
    if resource.provider:
        urn = resource.provider.rsplit("::", 1)[0]
        provider = pulumi_policy.PolicyProviderResource(urn.split("::")[2], {}, urn, urn.rsplit("::", 1)[-1])
    options = pulumi_policy.PolicyResourceOptions(
        resource.protect, [], None, list(resource.aliases), pulumi_policy.PolicyCustomTimeouts(0, 0, 0), [], resource.parent,
    )
    props = unknown_checking_proxy(json.loads(json.dumps(resource.inputs, default=str)))
    return props, options, provider


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_real_sdk_reports_what_the_offline_evaluation_reports(monkeypatch, stack):
    namespace = load_pack(monkeypatch, pulumi_policy)
    policies = namespace["POLICIES"]
    assert {type(p) for p in policies} == {pulumi_policy.ResourceValidationPolicy, pulumi_policy.StackValidationPolicy}
    plan = planned_stack(stack)
    config = read_stack_config(stack, STACKS)
    # What the engine sets for a policy pack: the stack's config, structured values as JSON text.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}))
    custom = [r for r in plan.resources if r.custom]
    reported = []

    def analyze():
        pulumi.runtime.set_all_config({})  # this context's config: empty, so the pack reads PULUMI_CONFIG as it would
        assert namespace["stack_context"]() == StackContext.of_config(config)
        views = {r.urn: engine_view(r) for r in custom}
        stack_resources = [
            pulumi_policy.PolicyResource(r.type, views[r.urn][0], r.urn, r.name, views[r.urn][1], views[r.urn][2], None, [], {})
            for r in custom
        ]
        for policy in policies:
            if isinstance(policy, pulumi_policy.ResourceValidationPolicy):
                for r in custom:
                    props, options, provider = views[r.urn]
                    args = pulumi_policy.ResourceValidationArgs(r.type, props, r.urn, r.name, options, provider)
                    policy.validate(args, lambda message, urn=None, r=r, p=policy: reported.append(seen(p, r.urn, message)))
            else:
                args = pulumi_policy.StackValidationArgs(stack_resources)
                policy.validate(args, lambda message, urn=None, p=policy: reported.append(seen(p, urn, message)))

    def seen(policy, urn, message):
        """As the offline evaluation names it: an acknowledged exception comes from the rule's ADVISORY twin."""
        level = policy.enforcement_level.value.lower()
        return policy.name.removesuffix(namespace["ACKNOWLEDGED_SUFFIX"] if level == "advisory" else ""), urn, message, level

    contextvars.Context().run(analyze)
    offline = [(v.rule, v.urn, v.message, v.enforcement) for v in evaluate(plan, StackContext.of_config(config))]
    assert sorted(reported) == sorted(offline)
    if stack == "prod":
        assert reported, "prod has known findings (tests/policy/test_policy_stacks.py): the pack must report them too"


def test_a_value_unknown_during_preview_is_left_to_the_sdk(monkeypatch):
    """A rule that reads a value not known yet raises the SDK's UnknownValueError, which the SDK reports as 'can't
    run during preview' (advisory) rather than as a pass or a violation."""
    namespace = load_pack(monkeypatch, pulumi_policy)
    policy = next(p for p in namespace["POLICIES"] if p.name == "private-cluster-endpoint")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({PLATFORM_CONFIG_KEY: json.dumps({"environment": "prod", "protected": True})}))
    props = unknown_checking_proxy({"vpcConfig": {"endpointPublicAccess": UNKNOWN_BOOLEAN_VALUE}})
    options = pulumi_policy.PolicyResourceOptions(True, [], None, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0), [])
    args = pulumi_policy.ResourceValidationArgs("aws:eks/cluster:Cluster", props, "urn:x", "eks", options, None)

    def validate():
        pulumi.runtime.set_all_config({})
        policy.validate(args, lambda message, urn=None: pytest.fail(message))

    with pytest.raises(UnknownValueError):
        contextvars.Context().run(validate)
