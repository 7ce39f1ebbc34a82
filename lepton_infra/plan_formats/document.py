"""The plan document: one stack's offline plan as plain JSON-able data, the one input of every format and of diffs.

    {"lepton_infra_plan": 1, "note": ..., "stack": "dev", "environment": "dev", "cells": [...],
     "gpu_capacity": [...], "resources": [...sorted by URN...], "outputs": {...}}

Secrets are masked (``[secret]``) and local paths made portable before anything reaches the document, so it can be
printed, committed and diffed. Numbers the mock transport turned into floats (2.0) are integers again.

This file also runs as a script, against whichever lepton_infra is importable, to plan a git ref's checkout with
that checkout's own library (lepton_infra/plan_formats/sources.py): it imports only APIs older than itself.
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

from lepton_infra.spec import parse_platform_spec
from lepton_infra.stack_files import platform_config, read_stack_config, stack_file
from lepton_infra.testing import run_stack

FORMAT_VERSION = 1
NOTE = "offline plan: what the program declares, run under mocks with no credentials; not a preview against live state"
CELL_TOKEN = "lepton:platform:Cell"  # lepton_infra/composition/cell.py TOKEN (the core may not import it)
PLATFORM_TOKEN = "lepton:platform:Platform"  # lepton_infra/composition/platform.py TOKEN
KUBERNETES = "kubernetes:"
MASK = "[secret]"  # lepton_infra.testing.SECRET_MASK


def build(stack: str, plan: Any, spec: Any) -> dict[str, Any]:
    """The document of ``plan`` (an OfflinePlan) of ``stack``, whose platform spec is ``spec``."""
    summary = {entry["urn"]: entry for entry in plan.summary()}  # masked, portable inputs
    portable = getattr(plan, "_portable", lambda value: value)
    resources = []
    for r in sorted(plan.resources, key=lambda r: r.urn):
        inputs = summary[r.urn]["inputs"]
        if r.type.startswith(KUBERNETES) and r.secret_inputs:
            inputs = portable(json.loads(json.dumps(keys_kept(r.inputs, r.secret_inputs), default=str, sort_keys=True)))
        entry = {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "protect": r.protect,
            "retain_on_delete": r.retain_on_delete,
            "inputs": integers(inputs),
        }
        if getattr(r, "aliases", ()):
            entry["aliases"] = sorted(r.aliases)
        resources.append(entry)
    cell_urns = {r.name: r.urn for r in plan.resources if r.type == CELL_TOKEN}
    outputs = portable(json.loads(json.dumps(plan.masked_outputs(), default=str, sort_keys=True)))
    return {
        "lepton_infra_plan": FORMAT_VERSION,
        "note": NOTE,
        "stack": stack,
        "environment": spec.environment,
        "protected_environment": bool(getattr(spec, "protected", False)),
        "cells": [
            {"name": c.name, "cloud": c.cloud, "region": c.region, "urn": cell_urns.get(f"{spec.environment}-{c.name}")}
            for c in spec.cells
        ],
        "gpu_capacity": gpu_capacity(spec),
        "resources": resources,
        "outputs": integers(outputs),
    }


def keys_kept(value: Any, secrets: Any, path: tuple = (), inside: bool = False) -> Any:
    """``value`` with every value under a secret path masked, keeping the keys of secret mappings.

    For Kubernetes objects: a Secret's ``stringData`` marked secret as a whole must stay a mapping for the object to
    be valid, and its keys are no secret (the API shows them to anyone who may list Secrets: `kubectl describe`).
    """
    inside = inside or path in secrets
    if isinstance(value, dict):
        return {k: keys_kept(v, secrets, path + (k,), inside) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_kept(v, secrets, path + (i,), inside) for i, v in enumerate(value)]
    return MASK if inside else value


def gpu_capacity(spec: Any) -> list[dict[str, Any]]:
    """GPUs per cell and accelerator: the pools' node counts (min_size..max_size) times their GPUs per node."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in spec.cells:
        for pool in cell.gpu_pools:
            row = rows.setdefault(
                (cell.name, pool.accelerator),
                {"cell": cell.name, "accelerator": pool.accelerator, "pools": [], "min_gpus": 0, "max_gpus": 0},
            )
            row["pools"].append(pool.name)
            row["min_gpus"] += pool.min_size * pool.gpus_per_node
            row["max_gpus"] += pool.max_size * pool.gpus_per_node
    return [rows[key] for key in sorted(rows)]


def integers(value: Any) -> Any:
    """2.0 -> 2 throughout (the mock transport sends every number as a float)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integers(v) for v in value]
    return value


def plan_stack(stack: str, stacks_dir: Any, program_dir: Any) -> dict[str, Any]:
    """Validate the stack's spec, run its program offline, and return its document."""
    # Spelt out, not stack_files.read_platform_spec: this runs against a git ref's own, maybe older, lepton_infra.
    config = read_stack_config(stack, stacks_dir)
    spec = parse_platform_spec(platform_config(config, stack_file(stack, stacks_dir)))
    if "program_dir" in inspect.signature(run_stack).parameters:
        plan = run_stack(stack, stacks_dir, program_dir=program_dir)
    else:  # a lepton_infra from before programs and stack files could live apart
        plan = run_stack(stack, program_dir)
    return build(stack, plan, spec)


if __name__ == "__main__":  # python document.py STACK STACKS_DIR PROGRAM_DIR OUT: the document as JSON in OUT
    document = plan_stack(*sys.argv[1:4])
    with open(sys.argv[4], "w", encoding="utf-8") as out:
        json.dump(document, out, sort_keys=True)
