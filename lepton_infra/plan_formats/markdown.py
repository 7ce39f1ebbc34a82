"""``--format markdown``: a summary fit for a pull-request comment: per cell, the resources and protected ones; the
GPU capacity; the resource types; the outputs (secrets masked). Long lists fold into <details>."""

from __future__ import annotations

from collections import Counter
from typing import Any

from . import _tree
from .terminal import Style


def render(doc: dict[str, Any], style: Style) -> str:
    resources = [r for r in doc["resources"] if r["custom"]]
    protected = [r for r in resources if r["protect"]]
    out = [
        f"### Offline plan of stack `{doc['stack']}`",
        "",
        f"_{doc['note'][0].upper()}{doc['note'][1:]}._",
        "",
        f"**{len(resources)} resources**, {len(protected)} protected, in {_count(len(doc.get('cells', [])), 'cell')}.",
        "",
        "| cell | cloud | region | resources | protected |",
        "|---|---|---|---:|---:|",
    ]
    places = {c["name"]: (c["cloud"], c["region"]) for c in doc.get("cells", [])}
    for view in _tree.cells(doc):
        cloud, region = places.get(view.name, ("", ""))
        members = view.resources
        out.append(f"| {view.name} | {cloud} | {region} | {len(members)} | {sum(r['protect'] for r in members)} |")
    out += ["", "**GPU capacity** (GPUs, from the pools' node counts)", ""]
    if doc["gpu_capacity"]:
        out += ["| cell | accelerator | pools | min | max |", "|---|---|---|---:|---:|"]
        out += [
            f"| {g['cell']} | {g['accelerator']} | {', '.join(g['pools'])} | {g['min_gpus']} | {g['max_gpus']} |"
            for g in doc["gpu_capacity"]
        ]
    else:
        out.append("No GPU pools.")
    if protected:
        out += ["", f"<details><summary>Protected resources ({len(protected)})</summary>", ""]
        out += [f"- `{r['type']}` {r['name']}" for r in protected]
        out += ["", "</details>"]
    types = Counter(r["type"] for r in resources)
    out += ["", f"<details><summary>Resources by type ({len(types)} types)</summary>", "", "| type | count |", "|---|---:|"]
    out += [f"| `{t}` | {n} |" for t, n in sorted(types.items())]
    out += ["", "</details>"]
    if doc["outputs"]:
        out += ["", "<details><summary>Outputs</summary>", "", "| output | value |", "|---|---|"]
        out += [f"| `{k}` | `{_cell(v)}` |" for k, v in sorted(doc["outputs"].items())]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _cell(value: Any) -> str:
    return (value if isinstance(value, str) else repr(value)).replace("|", "\\|").replace("\n", " ")
