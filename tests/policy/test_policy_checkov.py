"""checkov (bridgecrewio/checkov, the field's Kubernetes scanner) over the objects every stack renders, one cluster
(cell) at a time, exactly as `lepton-infra plan STACK --format yaml` prints them: no failed check but the ones
SKIPS lists, each with the objects it applies to and why. Helm releases are not scanned: their templates are
rendered by Helm at apply time, so the yaml lists them as comments.

checkov runs from its own venv, $VIRTUAL_ENV/tools/checkov, which .ci/tools makes (its packaging<24 pin cannot share
the tests' venv). It is looked for there, next to the running interpreter's venv, and never on PATH.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_infra.plan_formats import PLAIN, build
from lepton_infra.plan_formats import as_yaml
from lepton_infra.stack_files import read_platform_spec
from stack_support import STACKS, planned_stack

CHECKOV = Path(sys.prefix) / "tools" / "checkov" / "bin" / "checkov"

# check id -> (the objects it is skipped for, as checkov names them "Kind.namespace.name"; why). The only place a
# checkov finding is accepted; a listed object the check no longer fails on fails the test below (the list shrinks).
SKIPS: dict[str, tuple[frozenset[str], str]] = {
    "CKV_K8S_49": (
        frozenset({"ClusterRole.default.lepton-istio-reader"}),
        "Istio's own reader rules, rule for rule (components/kubernetes/mesh.py READER_RULES, checked against the "
        "istiod chart's templates/reader-clusterrole.yaml in tests/upstream): the other cells' istiods watch every "
        "Istio config resource (`*` in Istio's API groups) with get/list/watch only. Narrowing it breaks multicluster "
        "discovery whenever Istio adds a resource kind; upstream's chart grants the same.",
    ),
}


def cell_streams(stack: str) -> dict[str, str]:
    """`plan STACK --format yaml`'s text, per cell: each cell's objects are the ones its cluster's provider applies,
    named `<environment>-<cell>-...` (the cell's components and the platform's remote secrets alike)."""
    spec = read_platform_spec(stack, STACKS)
    doc = build(stack, planned_stack(stack), spec)
    prefixes = {cell.name: f"{spec.environment}-{cell.name}-" for cell in spec.cells}
    owners = {r["urn"]: [c for c, p in prefixes.items() if r["name"].startswith(p)] for r in doc["resources"]}
    stray = [urn for urn, cells in owners.items() if len(cells) != 1 and urn in {r["urn"] for r in as_yaml.objects(doc)}]
    assert not stray, f"objects of no single cell: {stray}"
    return {
        cell: as_yaml.render({**doc, "resources": [r for r in doc["resources"] if owners[r["urn"]] == [cell]]}, PLAIN)
        for cell in prefixes
    }


def checkov_failures(text: str, directory: Path) -> list[tuple[str, str, str]]:
    """(check id, resource, check name) of every failed check over the YAML stream ``text``."""
    assert CHECKOV.exists(), (
        f"{CHECKOV} is missing: run .ci/tools with this venv active (`. {sys.prefix}/bin/activate && .ci/tools`); it "
        "installs checkov in a venv of its own there"
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "objects.yaml").write_text(text)
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "kubernetes", "--output", "json", "--quiet",
         "--skip-download"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: some check failed
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert reports and all(r.get("check_type") == "kubernetes" for r in reports), result.stdout[:2000]
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports), result.stdout[:2000]
    assert sum(r["summary"]["resource_count"] for r in reports) > 0, "checkov scanned nothing"
    return sorted(
        (f["check_id"], f["resource"], f["check_name"]) for r in reports for f in r["results"]["failed_checks"]
    )


def stacks() -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in STACKS.glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack", stacks())
def test_checkov_passes_every_cell_of_every_stack_but_the_listed_skips(stack, tmp_path):
    seen: set[tuple[str, str]] = set()
    unexpected = []
    for cell, text in cell_streams(stack).items():
        for check, resource, name in checkov_failures(text, tmp_path / cell):
            if resource in SKIPS.get(check, (frozenset(), ""))[0]:
                seen.add((check, resource))
            else:
                unexpected.append(f"{cell}: {check} {resource}: {name}")
    assert not unexpected, "\n".join(unexpected)
    if stack == "prod":  # the stack with every feature: each skip must still be needed there
        listed = {(check, resource) for check, (resources, _) in SKIPS.items() for resource in resources}
        assert listed <= seen, f"no longer failing, remove from SKIPS: {sorted(listed - seen)}"


def test_every_skip_names_its_objects_and_why():
    for check, (resources, why) in SKIPS.items():
        assert check.startswith(("CKV_K8S_", "CKV2_K8S_")) and resources and len(why) > 80, check
        assert all(r.count(".") >= 2 for r in resources), resources


def test_checkov_catches_a_pod_no_network_policy_admits(tmp_path):
    """The scan can fail: dev's objects without their NetworkPolicies fail checkov's CKV2_K8S_6 on the model's pods."""
    (text,) = cell_streams("dev").values()
    documents = text.split("\n---\n")
    assert any("kind: NetworkPolicy" in d for d in documents)
    without = "\n---\n".join(d for d in documents if "kind: NetworkPolicy" not in d)
    failed = checkov_failures(without, tmp_path)
    assert any(check == "CKV2_K8S_6" and resource.startswith("Pod.models.") for check, resource, _ in failed), failed
