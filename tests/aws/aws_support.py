"""Shared helpers for the AWS component tests."""

from __future__ import annotations

from typing import Callable

from lepton_infra.offline import OfflinePlan, run
from lepton_infra.spec import SpecError


def rejected(build: Callable[[], object]) -> tuple[SpecError, OfflinePlan]:
    """The SpecError ``build`` raises and the plan it left behind (expected empty)."""
    caught: list[SpecError] = []

    def program():
        try:
            build()
        except SpecError as exc:
            caught.append(exc)

    plan = run(program)
    assert caught, "expected a SpecError"
    return caught[0], plan


def ec2_id(resource) -> str:
    """The physical id of an EC2 resource in the plan (the mocks' ARNs end in .../<id>)."""
    return resource.outputs["arn"].rsplit("/", 1)[-1]
