"""The observability tests read the stacks' offline plans (tests/stacks/stack_support.py) and the vendored upstream
files' registry (tests/upstream/upstream_truth.py), as the tests there do."""

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# serving's test helpers (real server processes, tiny models) and the checkout's serving/ itself, as tests/serving has.
for folder in (TESTS / "stacks", TESTS / "upstream", TESTS / "serving", TESTS.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from stack_support import planned_stack  # noqa: E402


@pytest.fixture(scope="session")
def stack_plan():
    return planned_stack
