import pytest

from lepton_infra.testing import run_stack

from stack_support import STACKS


@pytest.fixture(scope="session")
def stack_plan():
    """Each stack is run offline once per session; tests only read the plans."""
    plans = {}

    def get(stack: str):
        if stack not in plans:
            plans[stack] = run_stack(stack, STACKS)
        return plans[stack]

    return get
