"""Where the stack program and its Pulumi.<env>.yaml files live, and their offline plans, for the stack tests."""

from functools import cache
from pathlib import Path

from lepton_infra.testing import OfflinePlan, run_stack

STACKS = Path(__file__).resolve().parents[2] / "stacks"


@cache
def planned_stack(stack: str) -> OfflinePlan:
    """Each stack is run offline once per test process (tests/stacks and tests/upstream share it); tests only read it."""
    return run_stack(stack, STACKS)
