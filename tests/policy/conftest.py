"""The policy tests read the stacks' offline plans through tests/stacks/stack_support.py, the stack tests' own."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stacks"))
