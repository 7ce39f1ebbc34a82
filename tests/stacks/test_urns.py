"""Today's dev and prod stacks update in place: every resource a stack held before cells moved under a Platform
is still reached, by its URN or an alias the engine follows, so `pulumi up` replaces nothing."""

from pathlib import Path

import pytest

STATE = Path(__file__).parent / "urns_before_cells"
# Resources deleted on purpose since, each with why; every other earlier URN must still be answered.
# - the models' CPU HorizontalPodAutoscaler: KEDA's ScaledObject scales them on serving's queue depth instead and
#   adopts that HPA by name (components/kubernetes/model_deployment.py), so Pulumi's copy goes.
REMOVED = ("$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::",)


def urns_before(stack: str) -> list[str]:
    lines = (STATE / f"{stack}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#") and not any(part in line for part in REMOVED)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_earlier_urn_is_answered_by_exactly_one_resource(stack, stack_plan):
    plan = stack_plan(stack)
    answered: dict[str, list[str]] = {}
    for resource in plan.resources:
        for urn in plan.answers_to(resource):
            answered.setdefault(urn, []).append(resource.urn)
    before = urns_before(stack)
    missing = [urn for urn in before if urn not in answered]
    ambiguous = [urn for urn in before if len(answered.get(urn, [])) > 1]
    assert len(before) > 100
    assert not missing, f"{len(missing)} resources would be replaced (deleted and created anew), e.g. {missing[:3]}"
    assert not ambiguous, ambiguous[:3]


def test_cells_answer_to_the_top_level_components_they_were(stack_plan):
    plan = stack_plan("prod")
    cell = plan.one("lepton:platform:Cell", "prod-aws-use1")
    assert "urn:pulumi:prod::lepton-platform::lepton:platform:Platform::prod-aws-use1" in plan.answers_to(cell)
    assert cell.parent == plan.one("lepton:platform:Platform").urn
