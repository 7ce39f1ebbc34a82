"""Where the stack program and its Pulumi.<env>.yaml files live, for the stack tests."""

from pathlib import Path

STACKS = Path(__file__).resolve().parents[2] / "stacks"
