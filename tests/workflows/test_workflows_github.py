"""The GitHub workflows are valid (SchemaStore's workflow schema, vendored in schemastore/), pinned, least
privileged, and do what the README promises: tests on push, an offline plan diff on every pull request (forks
included: no secrets where pull request code runs), posted as a comment from the base repository."""

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
SCHEMA = json.loads((Path(__file__).parent / "schemastore" / "github-workflow.json").read_text())
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict:
    """The workflow as GitHub reads it: YAML 1.1 reads the key `on` as True, GitHub as "on"."""
    flow = yaml.safe_load(path.read_text())
    if True in flow:
        flow["on"] = flow.pop(True)
    return flow


def workflow(name: str) -> dict:
    return load(WORKFLOWS / name)


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_workflows_for_tests_and_the_plan_diff():
    assert [p.name for p in FILES] == ["plan-diff-comment.yml", "plan-diff.yml", "preview.yml", "tests.yml"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_workflow_is_valid_against_the_workflow_schema(path):
    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(load(path))]
    assert errors == []


def test_the_schema_refuses_a_broken_workflow():
    broken = workflow("tests.yml")
    broken["jobs"]["tests"]["runs_on"] = broken["jobs"]["tests"].pop("runs-on")
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_named(path):
    uses = re.findall(r"uses: (\S+)(.*)", path.read_text())
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), f"{action}: say the tag it is ({comment!r})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_workflow_states_least_permissions(path):
    permissions = load(path)["permissions"]
    assert isinstance(permissions, dict) and permissions.get("contents") == "read"
    assert "write-all" not in path.read_text()


def test_tests_run_on_every_push_and_pull_request_as_ci_does():
    flow = workflow("tests.yml")
    assert set(flow["on"]) == {"push", "pull_request"}
    assert any(step.get("run") == "bash .ci/run" for step in steps(flow))


def test_the_plan_diff_runs_pull_request_code_without_secrets_or_write_access():
    flow = workflow("plan-diff.yml")
    assert set(flow["on"]) == {"pull_request"}
    text = (WORKFLOWS / "plan-diff.yml").read_text()
    assert "secrets." not in text and "pull_request_target" not in text
    assert flow["permissions"] == {"contents": "read"}


def test_the_plan_diff_installs_as_the_readme_main_line_does_and_diffs_every_stack():
    main = subprocess.run([sys.executable, ".ci/readme_commands.py", "main"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    install = main.rsplit(" && ", 1)[0]
    runs = [step["run"] for step in steps(workflow("plan-diff.yml")) if "run" in step]
    assert install in runs
    diff = next(r for r in runs if "lepton-infra diff" in r)
    assert 'lepton-infra diff "$BASE_SHA" HEAD --stack "$stack"' in diff and "stacks/Pulumi.*.yaml" in diff
    assert '"$status" -gt 1' in diff  # 1 means changes, not failure; 2 fails the job


def test_the_comment_is_posted_from_the_base_repository_without_running_pull_request_code():
    flow = workflow("plan-diff-comment.yml")
    assert flow["on"]["workflow_run"]["workflows"] == [workflow("plan-diff.yml")["name"]]
    assert not any("actions/checkout" in step.get("uses", "") for step in steps(flow))
    assert flow["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "write"}
    script = next(step["with"]["script"] for step in steps(flow) if "github-script" in step.get("uses", ""))
    assert "run.head_sha" in script and "pr-number" not in script  # the pull request is found, never read from the artifact


def test_the_diff_command_the_workflow_calls_exists():
    from lepton_infra.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["diff", "--help"])
    assert exit_.value.code == 0


def test_the_live_preview_runs_only_with_credentials_and_only_for_this_repositorys_branches():
    flow = workflow("preview.yml")
    credentials, preview = flow["jobs"]["credentials"], flow["jobs"]["preview"]
    assert credentials["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert preview["needs"] == "credentials" and preview["if"] == "needs.credentials.outputs.available == 'true'"
    [pulumi] = [s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True and pulumi["with"]["diff"] is True
    assert pulumi["with"]["policyPacks"] == "policy-pack" and (ROOT / "policy-pack" / "PulumiPolicy.yaml").is_file()
    stacks = {p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")}
    assert set(preview["strategy"]["matrix"]["stack"]) == stacks - {"local"}
