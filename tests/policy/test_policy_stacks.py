"""Every stack in stacks/ against every rule, over its offline plan. What a stack breaks today is listed once, below,
with its reason: the test fails when a stack breaks anything else, and when a listed finding is fixed (so the list
shrinks with the fixes)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
import yaml

from lepton_infra.policy import PLATFORM_CONFIG_KEY, StackContext, evaluate, mandatory
from lepton_infra.stack_files import read_platform_spec, read_stack_config
from lepton_infra.testing import run_stack
from stack_support import STACKS, planned_stack

STACK_NAMES = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in STACKS.glob("Pulumi.*.yaml"))

# (stack, rule, resource name): why it is not fixed yet. Reported, not hidden.
KNOWN_FINDINGS: dict[tuple[str, str, str], str] = {}
# (stack, rule, resource name): the named opt-out in the stack file the rule acknowledges (an advisory finding).
ACKNOWLEDGED = {
    ("prod", "customer-managed-encryption", "prod-azure-eus2-registry-registry"): (
        "Pulumi.prod.yaml sets registry.customer_managed_key: false on azure-eus2: its registry predates the key, and "
        "ACR takes one only at creation, so turning it on would replace the registry"
    ),
}


def stack_context(stack: str) -> StackContext:
    spec = read_platform_spec(stack, STACKS)
    return StackContext.of_spec(spec)


def test_the_stacks_are_the_ones_the_findings_name():
    assert {"dev", "staging", "prod", "local"} <= set(STACK_NAMES)
    assert {stack for stack, _, _ in {**KNOWN_FINDINGS, **ACKNOWLEDGED}} <= set(STACK_NAMES)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_stack_passes_every_rule_but_its_listed_findings(stack):
    violations = evaluate(planned_stack(stack), stack_context(stack))
    acknowledged = {(stack, v.rule, v.urn.rsplit("::", 1)[-1]) for v in violations if v.enforcement == "advisory"}
    assert acknowledged == {key for key in ACKNOWLEDGED if key[0] == stack}
    assert all(v.message.startswith("acknowledged exception: ") for v in violations if v.enforcement == "advisory")
    found = {(stack, v.rule, v.urn.rsplit("::", 1)[-1]): v for v in mandatory(violations)}
    expected = {key for key in KNOWN_FINDINGS if key[0] == stack}
    unexpected = [str(found[key]) for key in sorted(set(found) - expected)]
    assert not unexpected, "\n".join(unexpected)
    fixed = sorted(expected - set(found))
    assert not fixed, f"fixed, remove from KNOWN_FINDINGS: {fixed}"


def test_the_stack_context_comes_from_the_spec_or_the_config():
    prod_opt_outs = frozenset({("azure-eus2", "registry.customer_managed_key")})
    assert stack_context("prod") == StackContext("prod", True, prod_opt_outs)
    assert stack_context("dev") == StackContext("dev", False)
    config = read_stack_config("prod", STACKS)
    assert StackContext.of_config(config) == StackContext("prod", True, prod_opt_outs)
    assert StackContext.of_config({}) == StackContext(None, False)


def test_a_protected_stack_with_a_public_endpoint_is_caught():
    """dev's plan judged as if dev were protected: its public EKS endpoint and unprotected data are violations."""
    found = evaluate(planned_stack("dev"), StackContext("dev", protected=True))
    rules = {v.rule for v in found}
    assert {"private-cluster-endpoint", "data-protected"} <= rules


def test_the_mesh_opt_out_breaks_the_mtls_rule():
    """A stack that takes the named opt-out `mesh.mtls: PERMISSIVE` plans fine and is caught by the policy."""
    config = read_stack_config("dev", STACKS)
    platform = copy.deepcopy(config[PLATFORM_CONFIG_KEY])
    platform["cells"][0].setdefault("mesh", {})["mtls"] = "PERMISSIVE"
    plan = run_stack("dev", STACKS, config_overrides={PLATFORM_CONFIG_KEY: platform})
    found = [v for v in evaluate(plan, StackContext("dev", False)) if v.rule == "mesh-mtls-strict"]
    assert any("PERMISSIVE" in v.message and "PeerAuthentication" in v.urn for v in found), found
    assert any("istiod" in v.message for v in found), found


def test_the_cli_checks_the_rules_over_the_offline_plan_and_exits_1_on_a_mandatory_violation(capsys, tmp_path):
    from lepton_infra.cli import main

    assert main(["plan", "dev", "--stacks-dir", str(STACKS), "--format", "json", "--policy"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) and "policy: 0 mandatory violation(s)" in err  # stdout stays the plan in its format

    # prod's acknowledged exceptions are printed, as advisory, and fail nothing.
    assert main(["plan", "prod", "--stacks-dir", str(STACKS), "--policy"]) == 0
    err = capsys.readouterr().err
    for stack, rule, name in ACKNOWLEDGED:
        if stack == "prod":
            assert any(line.startswith(f"policy: [advisory] {rule}: ") and f"::{name}: acknowledged exception: " in line
                       for line in err.splitlines()), err
    assert f"policy: 0 mandatory violation(s), {sum(key[0] == 'prod' for key in ACKNOWLEDGED)} advisory" in err

    # A stack that takes the mesh's opt-out breaks a mandatory rule: exit 1.
    project = tmp_path / "project"
    shutil.copytree(STACKS, project / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(STACKS.parent / "Pulumi.yaml", project)
    dev_file = project / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(dev_file.read_text())
    config["config"][PLATFORM_CONFIG_KEY]["cells"][0].setdefault("mesh", {})["mtls"] = "PERMISSIVE"
    dev_file.write_text(yaml.safe_dump(config))
    assert main(["plan", "dev", "--stacks-dir", str(project / "stacks"), "--policy"]) == 1
    err = capsys.readouterr().err
    assert any(line.startswith("policy: [mandatory] mesh-mtls-strict: ") for line in err.splitlines()), err


def test_the_registry_opt_out_is_acknowledged_only_where_the_spec_takes_it():
    """prod's registry judged without its cell's opt-out is a mandatory finding; with the key on (the default), the
    registry passes and nothing is acknowledged."""
    (name,) = [n for s, r, n in ACKNOWLEDGED if s == "prod"]
    without = [v for v in evaluate(planned_stack("prod"), StackContext("prod", True)) if v.urn.endswith(f"::{name}")]
    assert [(v.rule, v.enforcement) for v in without] == [("customer-managed-encryption", "mandatory")]

    config = read_stack_config("prod", STACKS)
    platform = copy.deepcopy(config[PLATFORM_CONFIG_KEY])
    (azure,) = [cell for cell in platform["cells"] if cell["cloud"] == "azure"]
    del azure["registry"]["customer_managed_key"]
    plan = run_stack("prod", STACKS, config_overrides={PLATFORM_CONFIG_KEY: platform})
    found = [v for v in evaluate(plan, StackContext.of_config({PLATFORM_CONFIG_KEY: platform})) if "registry" in v.urn]
    assert found == []
