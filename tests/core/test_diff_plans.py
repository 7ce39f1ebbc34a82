"""`lepton-infra diff BASE HEAD`: plan JSON files and git refs, what changed, replaced and the GPU delta; exit 0/1/2."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lepton_infra.plan_formats import PLAIN
from lepton_infra.plan_formats import diff as plan_diff

from plan_cli_support import ROOT, run_cli, secret_values


@pytest.fixture(scope="module")
def plan_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("plans")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        files = {}
        for stack in ("dev", "prod"):
            code, out, err = run_cli("plan", stack, "--format", "json")
            assert code == 0, err
            files[stack] = folder / f"{stack}.json"
            files[stack].write_text(out)
        return files


def test_a_plan_diffed_against_itself_has_no_changes_and_exits_0(plan_files):
    code, out, err = run_cli("diff", str(plan_files["dev"]), str(plan_files["dev"]))
    assert (code, err) == (0, "") and out.rstrip().endswith("no changes")


def test_dev_against_prod_lists_the_differences_and_exits_1(plan_files):
    code, out, _ = run_cli("diff", str(plan_files["dev"]), str(plan_files["prod"]))
    assert code == 1
    assert "#### Added" in out and "#### Removed" in out and "to add" in out
    assert "| aws-use1 | h100 | 0-0 | 8-32 | min +8, max +32 |" in out  # the GPU capacity delta
    assert "| aws-use1 | l4 | 0-2 | 0-0 | min 0, max -2 |" in out
    assert "offline plan: what the program declares" in out.lower()


def test_no_secret_appears_in_a_diff(plan_files):
    secrets = secret_values("dev")
    assert secrets
    doc = json.loads(plan_files["dev"].read_text())
    changed = copy.deepcopy(doc)
    for r in changed["resources"]:  # every input changes, the secret ones included
        r["inputs"] = {"changed": True, **r["inputs"]}
    text = plan_diff.render(plan_diff.compare(doc, changed), "a", "b", PLAIN)
    assert "changed" in text and not [s for s in secrets if s in text]
    for side in ("dev", "prod"):
        assert not [s for s in secrets if s in run_cli("diff", str(plan_files["dev"]), str(plan_files[side]))[1]]


def resource(name, type_="aws:s3/bucket:Bucket", parent="urn:pulumi:dev::p::lepton:x:C::c", **inputs):
    qualified = f"lepton:x:C${type_}" if parent else type_
    return {"urn": f"urn:pulumi:dev::p::{qualified}::{name}", "type": type_, "name": name, "parent": parent,
            "custom": True, "protect": False, "retain_on_delete": False, "inputs": inputs}


def doc(*resources, gpus=()):
    return {"resources": list(resources), "outputs": {}, "gpu_capacity": list(gpus)}


def test_changed_inputs_are_listed_by_path():
    base = doc(resource("b", tags={"team": "a"}, rules=[{"days": 30}]))
    head = doc(resource("b", tags={"team": "b"}, rules=[{"days": 60}]))
    change = plan_diff.compare(base, head).changed[0]
    assert [p for p, _, _ in change.paths] == [("rules", 0, "days"), ("tags", "team")]
    text = plan_diff.render(plan_diff.compare(base, head), "a", "b", PLAIN)
    assert "`rules[0].days`: `30` → `60`" in text and "1 to change, 0 to replace" in text


def test_a_new_kubernetes_name_or_namespace_is_a_replacement():
    t = "kubernetes:core/v1:ConfigMap"
    base = doc(resource("cm", t, metadata={"name": "a", "namespace": "x"}, data={"k": "1"}))
    for head_metadata in ({"name": "b", "namespace": "x"}, {"name": "a", "namespace": "y"}):
        diff = plan_diff.compare(base, doc(resource("cm", t, metadata=head_metadata, data={"k": "1"})))
        assert [c.head["name"] for c in diff.replaced] == ["cm"]
    assert not plan_diff.compare(base, doc(resource("cm", t, metadata={"name": "a", "namespace": "x"}, data={"k": "2"}))).replaced


def test_a_new_parent_or_type_without_an_alias_is_a_replacement_and_with_one_a_move():
    old = resource("b")
    moved = resource("b", parent="urn:pulumi:dev::p::lepton:x:D::d")
    moved["urn"] = "urn:pulumi:dev::p::lepton:x:D$aws:s3/bucket:Bucket::b"
    diff = plan_diff.compare(doc(old), doc(moved))
    assert [c.replace_because for c in diff.changed] == ["its parent changed (a new URN, no alias)"] and not diff.added
    aliased = dict(moved, aliases=[old["urn"]])
    diff = plan_diff.compare(doc(old), doc(aliased))
    assert not diff.replaced and diff.changed[0].moved and not diff.added and not diff.removed


def test_removing_a_protected_resource_is_called_out():
    kept = resource("keep")
    gone = dict(resource("data"), protect=True)
    text = plan_diff.render(plan_diff.compare(doc(kept, gone), doc(kept)), "a", "b", PLAIN)
    assert "**data** **protected: the engine refuses to delete it**" in text


def test_a_side_that_is_neither_a_file_nor_a_ref_exits_2(tmp_path, monkeypatch, plan_files):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("diff", str(plan_files["dev"]), "no-such-ref")
    assert code == 2 and out == "" and "no-such-ref" in err
    (tmp_path / "broken.json").write_text("{")
    assert run_cli("diff", "broken.json", str(plan_files["dev"]))[0] == 2


def git(cwd: Path, *argv: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *argv], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_refs_are_planned_from_their_own_checkout(tmp_path, monkeypatch):
    """A copy of the project in a fresh repository: two commits, the second raising dev's GPU pool to 4 nodes and
    changing the library itself (the models namespace's pod-security level): each ref runs its own code."""
    repo = tmp_path / "repo"
    for folder in ("lepton_infra", "components", "serving", "stacks"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for file in ("Pulumi.yaml", "pyproject.toml"):
        shutil.copy(ROOT / file, repo / file)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    text = stack_file.read_text()
    assert "min_size: 0\n            max_size: 2" in text
    stack_file.write_text(text.replace("min_size: 0\n            max_size: 2", "min_size: 0\n            max_size: 4"))
    library = repo / "components" / "kubernetes" / "model_deployment.py"
    source = library.read_text()
    assert source.count('"pod-security.kubernetes.io/enforce": "restricted"') == 1
    library.write_text(source.replace('"pod-security.kubernetes.io/enforce": "restricted"', '"pod-security.kubernetes.io/enforce": "baseline"'))
    git(repo, "commit", "-qam", "more GPUs, a looser namespace")
    monkeypatch.chdir(repo / "stacks")  # the project is found from a subfolder, as Pulumi finds it
    code, out, err = run_cli("diff", "HEAD~1", "HEAD", "--stack", "dev")
    assert code == 1, err
    assert "| aws-use1 | l4 | 0-2 | 0-4 | min 0, max +2 |" in out
    assert "`scalingConfig.maxSize`: `2` → `4`" in out
    assert '`metadata.labels.pod-security.kubernetes.io/enforce`: `"restricted"` → `"baseline"`' in out
    assert run_cli("diff", "HEAD~1", "HEAD")[0] == 2  # a ref without --stack: which stack is not guessed


def test_a_plan_written_by_the_old_json_flag_still_diffs(tmp_path, monkeypatch):
    """Before plan documents, `plan --json` printed the bare resource list (OfflinePlan.summary())."""
    old = [{k: v for k, v in resource("b", tags={"t": "1"}).items() if k in ("urn", "type", "inputs", "protect", "retain_on_delete")}]
    new = [dict(old[0], inputs={"tags": {"t": "2"}})]
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    monkeypatch.chdir(tmp_path)
    assert run_cli("diff", "old.json", "old.json")[0] == 0
    code, out, _ = run_cli("diff", "old.json", "new.json")
    assert code == 1 and "`tags.t`: `\"1\"` → `\"2\"`" in out
