"""The existing-cluster tests read the local stack's plan through tests/stacks/stack_support.py, the stack tests' own."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stacks"))

from stack_support import planned_stack  # noqa: E402


@pytest.fixture(scope="session")
def stack_plan():
    return planned_stack
