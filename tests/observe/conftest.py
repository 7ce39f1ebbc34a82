"""The observability tests read the stacks' offline plans (tests/stacks/stack_support.py) and the vendored upstream
files' registry (tests/upstream/upstream_truth.py), as the tests there do."""

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in ("stacks", "upstream"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from stack_support import planned_stack  # noqa: E402


@pytest.fixture(scope="session")
def stack_plan():
    return planned_stack
