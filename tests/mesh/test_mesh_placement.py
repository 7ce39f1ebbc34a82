"""Where a model is served: ``cells`` names the cells (by default every cell with its accelerator); served in several
cells, its DestinationRule fails over between them (locality load balancing with outlier detection)."""

import pytest

from lepton_infra.spec import SpecError, parse_platform_spec

from mesh_support import in_cell, plan_of, prod, prod_spec
from stack_support import planned_stack

DR = "kubernetes:networking.istio.io/v1:DestinationRule"
MODEL = "lepton:kubernetes:ModelDeployment"


def placed(cells: list[str]):
    spec = prod_spec()
    spec["models"][0]["cells"] = cells
    return plan_of(spec)


def model_rules(plan, cell: str):
    """The models' DestinationRules in ``cell`` (the global metrics view has one of its own in `monitoring`)."""
    return [r for r in in_cell(plan, cell) if r.type == DR and r.inputs["metadata"]["namespace"] == "models"]


def destination_rule(plan, cell: str):
    [rule] = model_rules(plan, cell)
    return rule.inputs["spec"]


def served_in(plan) -> list[str]:
    return sorted(r.name.removeprefix("prod-").removesuffix("-llm") for r in plan.of_type(MODEL))


def test_by_default_a_model_is_served_in_every_cell_with_its_accelerator_and_fails_over_between_them():
    plan = prod()
    assert served_in(plan) == ["aws-use1", "azure-eus2", "gcp-usc1"]
    for cell in served_in(plan):
        policy = destination_rule(plan, cell)["trafficPolicy"]
        assert policy["loadBalancer"] == {"localityLbSetting": {"enabled": True}}
        assert policy["outlierDetection"]["consecutive5xxErrors"] >= 1
        assert policy["outlierDetection"]["maxEjectionPercent"] == 100
        assert policy["tls"] == {"mode": "ISTIO_MUTUAL"}


def test_a_model_placed_in_two_cells_is_served_there_only_with_failover():
    plan = placed(["aws-use1", "gcp-usc1"])
    assert served_in(plan) == ["aws-use1", "gcp-usc1"]
    for cell in ("aws-use1", "gcp-usc1"):
        policy = destination_rule(plan, cell)["trafficPolicy"]
        assert policy["loadBalancer"]["localityLbSetting"] == {"enabled": True}
        assert "outlierDetection" in policy
    assert not model_rules(plan, "azure-eus2")


def test_a_model_placed_in_one_cell_is_served_there_only():
    spec = parse_platform_spec({**prod_spec(), "models": [{**prod_spec()["models"][0], "cells": ["azure-eus2"]}]})
    assert [c.name for c in spec.cells if spec.models_for(c)] == ["azure-eus2"]
    assert spec.cells_of(spec.models[0]) == ["azure-eus2"]


def test_a_model_served_in_one_cell_has_no_failover():
    dev = planned_stack("dev")
    [rule] = dev.of_type(DR)
    assert rule.inputs["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}


@pytest.mark.parametrize(
    "cells,problem",
    [
        (["aws-euw1"], "models[0].cells[0]: 'aws-euw1' is not a cell of this stack; cells: aws-use1, azure-eus2, gcp-usc1"),
        (["aws-use1", "aws-use1"], "models[0].cells[1]: cell 'aws-use1' is listed more than once"),
        ([], "models[0].cells"),
    ],
)
def test_placement_names_cells_of_the_stack(cells, problem):
    spec = prod_spec()
    spec["models"][0]["cells"] = cells
    with pytest.raises(SpecError) as err:
        parse_platform_spec(spec)
    assert problem in str(err.value)


def test_a_model_cannot_be_placed_in_a_cell_without_its_accelerator():
    spec = prod_spec()
    spec["cells"][2]["gpu_pools"][0]["accelerator"] = "l4"
    spec["cells"][2]["gpu_pools"][0]["gpus_per_node"] = 1
    spec["models"][0]["cells"] = ["aws-use1", "gcp-usc1"]
    with pytest.raises(SpecError) as err:
        parse_platform_spec(spec)
    assert "models[0].cells[1]: cell 'gcp-usc1' has no GPU pool of 'h100'" in str(err.value)
