import pytest

from stack_support import planned_stack


@pytest.fixture(scope="session")
def stack_plan():
    """Each stack is run offline once per session; tests only read the plans."""
    return planned_stack
