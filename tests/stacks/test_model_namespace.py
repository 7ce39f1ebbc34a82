"""The cell owns the models' namespace: adding or removing a model never moves (and so deletes) anything else."""

import pytest

from lepton_infra.testing import read_stack_config, run
from lepton_infra.composition import Cell
from lepton_infra.spec import parse_platform_spec

from stack_support import STACKS

MODELS = ["classifier", "ranker"]
NAMESPACE = "kubernetes:core/v1:Namespace"
MODEL = "lepton:kubernetes:ModelDeployment"
IDENTITY = "lepton:aws:WorkloadIdentity"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def plan_with(models: list[str]):
    raw = read_stack_config("dev", STACKS)["lepton-platform:platform"]
    template = raw["models"][0]
    raw["models"] = [{**template, "name": m, "artifact": f"{m}/v1/model.pt"} for m in models]
    spec = parse_platform_spec(raw)
    return run(lambda: Cell("dev", spec))


@pytest.fixture(scope="module")
def both():
    return plan_with(MODELS)


def models_namespace(plan):
    (namespace,) = [n for n in plan.of_type(NAMESPACE) if n.inputs["metadata"]["name"] == "models"]
    return namespace


def model_urns(plan, model: str) -> set[str]:
    """What the model owns: its deployment and its workload identity, with everything under them, and the models
    namespace's NetworkPolicy that admits its callers (components/kubernetes/network_policy.py, one per model)."""
    owned = [plan.one(MODEL, f"dev-{model}"), plan.one(IDENTITY, f"dev-{model}-identity")]
    admits = plan.one(NETWORK_POLICY, f"dev-models-network-serve-{model}")
    return {admits.urn} | {r.urn for top in owned for r in (top, *plan.descendants(top))}


@pytest.mark.parametrize("removed", MODELS)
def test_removing_a_model_leaves_every_other_urn_unchanged(both, removed):
    kept = [m for m in MODELS if m != removed]
    without = plan_with(kept)
    expected = {r.urn for r in both.resources} - model_urns(both, removed)
    assert {r.urn for r in without.resources} == expected


def test_the_namespace_belongs_to_the_cell_and_answers_to_every_earlier_owner(both):
    namespace = models_namespace(both)
    cell = both.one("lepton:platform:Cell")
    assert namespace.parent == cell.urn
    # Earlier releases made it a child "<cell>-<model>-ns" of the first model, under a top-level cell: each such URN
    # is an alias.
    for model in MODELS:
        released = f"urn:pulumi:dev::lepton-platform::lepton:platform:Platform${MODEL}${NAMESPACE}::dev-{model}-ns"
        assert released in namespace.aliases


def test_models_wait_for_the_namespace_not_for_each_other(both):
    namespace = models_namespace(both)
    for model in MODELS:
        others = set().union(*(model_urns(both, m) for m in MODELS if m != model))
        mine = [r for r in both.resources if r.urn in model_urns(both, model)]
        assert namespace.urn in both.one(MODEL, f"dev-{model}").dependencies
        assert not [r.name for r in mine if others & set(r.dependencies)], f"{model} waits for another model"
