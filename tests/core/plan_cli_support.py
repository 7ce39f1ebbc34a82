"""What the plan-format, diff and project tests share: the CLI run in-process, and a stack's real secret values."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from lepton_infra.cli import main
from lepton_infra.testing import run_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"


def run_cli(*argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``lepton-infra *argv``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def secret_values(stack: str) -> list[str]:
    """Every string the stack's program marked secret, unmasked (inputs and outputs), that a printout must not show.

    A secret wrapper covers a whole value (a registry's server, user and password): what the plan also holds in the
    clear elsewhere (the server, in the image's name) is no secret; nor is a short value ("true"), matched by chance.
    """
    plan = run_stack(stack, STACKS)
    values = []
    for r in plan.resources:
        for path in r.secret_inputs:
            value = r.inputs
            for step in path:
                value = value[step]
            values += strings(value)
    values += [s for key in plan.secret_outputs for s in strings(plan.stack_outputs[key])]
    public = json.dumps([plan.summary(), plan.masked_outputs()])
    return [v for v in values if len(v) >= 6 and v not in public]


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []
