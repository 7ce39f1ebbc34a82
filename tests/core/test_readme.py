"""Every README snippet runs as written: what a user pastes into their program, shell or tests works.

Python blocks that import the offline harness are scripts (they run themselves); every other Python block is a Pulumi
program, run under the offline mocks. Every `lepton-infra` line of a bash block runs through the CLI from the repo
root; `pulumi` lines need the engine and credentials, and the set-up lines are what .ci/run itself executes.
"""

import json
import re
import shlex
from pathlib import Path

import pytest

from lepton_infra import cli
from lepton_infra.testing import run

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def is_script(block: str) -> bool:
    return "from lepton_infra.testing import" in block


def cli_lines() -> list[str]:
    lines = [line.split("#", 1)[0].strip() for block in blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line.startswith("lepton-infra ")]


def run_program(block: str, stack: str = "dev"):
    return run(lambda: exec(block, {"__name__": "__main__"}), config={"aws:region": "us-east-1"}, stack=stack)


def test_the_readme_has_programs_scripts_and_cli_lines_to_check():
    assert [b for b in blocks("python") if is_script(b)] and [b for b in blocks("python") if not is_script(b)]
    assert len(cli_lines()) >= 3


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_every_python_block_runs_as_written(index):
    block = blocks("python")[index]
    if is_script(block):
        exec(block, {"__name__": "__main__"})  # its own asserts check what it shows
    else:
        assert run_program(block).resources, "a program block declares resources"


@pytest.mark.parametrize("line", cli_lines())
def test_every_cli_line_runs(line, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(shlex.split(line)[1:]) == 0, capsys.readouterr().err


def library_example() -> str:
    return next(block for block in blocks("python") if "from lepton_infra.components.aws import" in block and not is_script(block))


def test_the_library_example_declares_a_cluster_a_gpu_pool_a_lake_and_a_grant():
    plan = run_program(library_example())

    assert len(plan.of_type("aws:eks/cluster:Cluster")) == 1
    group = next(g for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.inputs["amiType"].endswith("NVIDIA"))
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in group.inputs["taints"]
    assert group.inputs["capacityType"] == "SPOT"
    reader = plan.one("aws:iam/role:Role", name="trainer-role")
    [grant] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == reader.outputs["name"]]
    policy = json.loads(grant.inputs["policy"])
    resources = {r for statement in policy["Statement"] for r in _list(statement["Resource"])}
    assert any(r.startswith("arn:aws:s3:::dev-lake-curated") for r in resources)
    assert not any(zone in r for r in resources for zone in ("-raw", "-features", "-models")), resources
    assert set(plan.stack_outputs) == {"kubeconfig"} and plan.secret_outputs == {"kubeconfig"}


# What a cloud account holds once per account (IAM) or per region (the rest): two stacks must not share a name.
ACCOUNT_WIDE_NAMES = {
    "aws:iam/role:Role": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:eks/cluster:Cluster": "name",
    "aws:ecr/repository:Repository": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:glue/catalogDatabase:CatalogDatabase": "name",
}


def physical_names(plan) -> set[tuple[str, str]]:
    return {(r.type, r.inputs[key]) for r in plan.resources for t, key in ACCOUNT_WIDE_NAMES.items() if r.type == t}


def test_the_dev_and_prod_stacks_of_the_library_example_share_an_account_without_colliding():
    dev, prod = (physical_names(run_program(library_example(), stack)) for stack in ("dev", "prod"))
    assert {t for t, _ in dev} >= {"aws:iam/role:Role", "aws:s3/bucket:Bucket", "aws:eks/cluster:Cluster"}
    assert dev.isdisjoint(prod), dev & prod


def _list(value):
    return value if isinstance(value, list) else [value]
