"""``--format table`` (the default): for a person at a terminal or reading a CI log.

Resources by name, grouped by cell and by the component that holds them, protected ones marked; then the GPU
capacity per cell and accelerator, and the stack's outputs (secrets masked).
"""

from __future__ import annotations

from typing import Any

from . import _tree
from .terminal import Style

MAX_VALUE = 100  # an output longer than this is cut, with its length shown


def render(doc: dict[str, Any], style: Style) -> str:
    resources = [r for r in doc["resources"] if r["custom"]]
    protected = sum(r["protect"] for r in resources)
    out = [
        style.bold(f"stack {doc['stack']}: {len(resources)} resources, {protected} protected")
        + style.dim(f"  ({doc['note']})"),
    ]
    for cell in _tree.cells(doc):
        members = cell.resources
        if not members:
            continue
        out += ["", style.bold(cell.label) + f"  {len(members)} resources, {sum(r['protect'] for r in members)} protected"]
        components = sorted((g for g in cell.groups.values() if not g.head["custom"]), key=lambda g: (g.head["type"], g.head["name"]))
        own = [g.head for g in cell.groups.values() if g.head["custom"]]
        for head, group_members in [*((g.head, g.members) for g in components if g.members), *([(None, own)] if own else [])]:
            title = f"{style.cyan(head['type'])} {head['name']}" if head else style.cyan("held by the cell itself")
            out.append(f"  {title}  ({len(group_members)})")
            width = max(len(_tree.short_type(r["type"])) for r in group_members)
            for r in group_members:
                mark = "  " + style.yellow("protected") if r["protect"] else ""
                out.append(f"    {_tree.short_type(r['type']).ljust(width)}  {r['name']}{mark}")
    out += ["", style.bold("GPU capacity (GPUs: min-max, from the pools' node counts)")]
    rows = [("cell", "accelerator", "pools", "min", "max")]
    rows += [(g["cell"], g["accelerator"], ", ".join(g["pools"]), str(g["min_gpus"]), str(g["max_gpus"])) for g in doc["gpu_capacity"]]
    out += _columns(rows) if len(rows) > 1 else ["  no GPU pools"]
    out += ["", style.bold("outputs")]
    outputs = doc["outputs"]
    width = max((len(k) for k in outputs), default=0)
    out += [f"  {k.ljust(width)}  {_short(v)}" for k, v in sorted(outputs.items())] or ["  none"]
    return "\n".join(out) + "\n"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE else f"{text[:MAX_VALUE]}… ({len(text)} chars)"
