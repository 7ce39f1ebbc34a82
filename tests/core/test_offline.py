"""The offline harness records what the engine would receive, and its mocks answer like the providers."""

import json

import pulumi
import pulumi_aws as aws
import pytest

from lepton_infra.testing import run, run_stack
from lepton_infra.stack_files import StackFileError


def test_resources_are_recorded_with_parent_flags_and_inputs():
    class Box(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("lepton:test:Box", name)
            self.key = aws.kms.Key(
                f"{name}-key",
                enable_key_rotation=True,
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
            )
            self.register_outputs({})

    plan = run(lambda: Box("box"))
    box = plan.one("lepton:test:Box")
    key = plan.one("aws:kms/key:Key")
    assert key.parent == box.urn and box.parent is None
    assert key.protect and key.retain_on_delete and not box.protect
    assert key.inputs["enableKeyRotation"] is True
    assert plan.children(box) == [key] and plan.descendants(box) == [key]


def test_mocked_outputs_have_the_providers_shapes_in_the_providers_region():
    def program():
        provider = aws.Provider("west", region="eu-west-1")
        key = aws.kms.Key("key", opts=pulumi.ResourceOptions(provider=provider))
        repo = aws.ecr.Repository("repo", name="serving", opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("key_arn", key.arn)
        pulumi.export("repo_url", repo.repository_url)

    outputs = run(program).stack_outputs
    assert outputs["key_arn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert outputs["repo_url"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving"


def test_invokes_are_answered_and_recorded():
    def program():
        azs = aws.get_availability_zones_output(state="available")
        pulumi.export("azs", azs.names)

    plan = run(program, config={"aws:region": "us-west-2"})
    assert plan.stack_outputs["azs"] == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert plan.invokes[0][0] == "aws:index/getAvailabilityZones:getAvailabilityZones"


def test_an_invoke_the_mocks_do_not_know_fails_loudly():
    def program():
        aws.ec2.get_ami_output(most_recent=True, owners=["amazon"])

    with pytest.raises(Exception, match="offline mocks do not know the invoke 'aws:ec2/getAmi:getAmi'"):
        run(program)


def test_runs_are_isolated_from_each_other():
    first = run(lambda: aws.kms.Key("a"))
    second = run(lambda: aws.kms.Key("b"))
    assert [r.name for r in first.resources] == ["a"]
    assert [r.name for r in second.resources] == ["b"]


def test_config_reaches_the_program_structured():
    seen = {}

    def program():
        seen.update(pulumi.Config("lepton-platform").require_object("platform"))

    run(program, config={"lepton-platform:platform": {"environment": "dev", "cells": []}})
    assert seen == {"environment": "dev", "cells": []}


def test_a_program_error_propagates():
    def program():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run(program)


def test_run_stack_reads_the_stack_file(tmp_path):
    (tmp_path / "Pulumi.t.yaml").write_text("config:\n  aws:region: ap-south-1\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\npulumi.export('region', pulumi.Config('aws').require('region'))\naws.kms.Key('k')\n"
    )
    plan = run_stack("t", tmp_path)
    assert plan.stack_outputs == {"region": "ap-south-1"}
    assert json.loads(json.dumps(plan.summary()))[0]["type"] == "aws:kms/key:Key"
    with pytest.raises(StackFileError, match=r"stacks in .*: t \(pass --stacks-dir DIR"):
        run_stack("nope", tmp_path)


def test_stack_outputs_are_only_what_the_program_exports():
    class Box(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("test:index:Box", name, None, None)
            self.register_outputs({"inner": "not exported"})

    def program():
        Box("box")
        pulumi.export("exported", "yes")

    assert run(program).stack_outputs == {"exported": "yes"}


def test_urns_carry_the_parents_whole_type_chain_as_the_engine_gives_them():
    class Outer(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("lepton:test:Outer", name)
            inner = pulumi.ComponentResource("lepton:test:Inner", f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))
            self.key = aws.kms.Key(f"{name}-key", opts=pulumi.ResourceOptions(parent=inner))
            # An alias computed from the program's own URNs names the same URN the plan records (what `pulumi up` moves).
            self.alias = pulumi.create_urn(f"{name}-key", "aws:kms/key:Key", parent=inner)
            self.register_outputs({})

    computed = []
    plan = run(lambda: Outer("o").alias.apply(computed.append))
    outer, key = plan.one("lepton:test:Outer"), plan.one("aws:kms/key:Key")
    assert outer.urn == "urn:pulumi:dev::lepton-platform::lepton:test:Outer::o"
    assert key.urn == "urn:pulumi:dev::lepton-platform::lepton:test:Outer$lepton:test:Inner$aws:kms/key:Key::o-key"
    assert computed == [key.urn]


def test_the_harness_answers_to_its_earlier_name():
    import lepton_infra.offline as earlier
    import lepton_infra.testing as testing

    assert earlier.run is testing.run and earlier.OfflinePlan is testing.OfflinePlan


def test_rejected_returns_the_spec_error_and_what_was_registered_before_it():
    from lepton_infra.spec import SpecError
    from lepton_infra.testing import rejected

    def program():
        aws.kms.Key("before")
        raise SpecError([("field", "what would be right")], "Args")

    error, plan = rejected(program)
    assert error.issues == [("field", "what would be right")]
    assert [r.name for r in plan.resources] == ["before"]
    with pytest.raises(AssertionError, match="expected a SpecError"):
        rejected(lambda: aws.kms.Key("fine"))
