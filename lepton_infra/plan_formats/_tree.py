"""The plan document read as a tree: each resource's cell (by walking its parent chain) and its component in that
cell, in one linear pass, for the formats that group by cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .document import CELL_TOKEN

ACROSS_CELLS = "across cells"  # the group of what no cell holds: the platform, its mesh CA, the remote secrets


@dataclass
class Group:
    """A component directly under a cell (or a resource the cell holds itself) and everything under it."""

    head: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)  # the head's descendants (the head itself if custom)


@dataclass
class CellView:
    name: str  # the spec's cell name, or ACROSS_CELLS
    label: str
    resource: dict[str, Any] | None
    groups: dict[str, Group] = field(default_factory=dict)  # by the head's URN

    @property
    def resources(self) -> list[dict[str, Any]]:
        return [m for g in self.groups.values() for m in g.members]


def cells(doc: dict[str, Any]) -> list[CellView]:
    """The document's cells in spec order, then what lies across cells (when anything does)."""
    by_urn = {r["urn"]: r for r in doc["resources"]}
    views: dict[str, CellView] = {}
    for c in doc.get("cells", []):
        if c.get("urn") in by_urn:
            views[c["urn"]] = CellView(c["name"], f"cell {c['name']} · {c['cloud']} {c['region']}", by_urn[c["urn"]])
    for r in doc["resources"]:  # cells the spec does not name (a document without "cells")
        if r["type"] == CELL_TOKEN and r["urn"] not in views:
            views[r["urn"]] = CellView(r["name"], f"cell {r['name']}", r)
    across = CellView(ACROSS_CELLS, "across cells", None)
    # (cell URN, head URN) per resource, memoised along parent chains: linear in the number of resources.
    place: dict[str, tuple[str | None, str]] = {}

    def locate(urn: str) -> tuple[str | None, str]:
        chain = []
        while urn not in place:
            r = by_urn.get(urn)
            parent = r["parent"] if r else None
            if r is None or r["type"] == CELL_TOKEN:
                place[urn] = (urn if r else None, urn)
                break
            if parent is None or parent not in by_urn:
                place[urn] = (None, urn)
                break
            if by_urn[parent]["type"] == CELL_TOKEN:
                place[urn] = (parent, urn)
                break
            chain.append(urn)
            urn = parent
        for link in chain:
            place[link] = place[urn]
        return place[urn]

    for r in doc["resources"]:
        if r["type"] == CELL_TOKEN:
            continue
        cell_urn, head_urn = locate(r["urn"])
        view = views.get(cell_urn, across) if cell_urn else across
        group = view.groups.setdefault(head_urn, Group(by_urn[head_urn]))
        if r["custom"]:
            group.members.append(r)
    ordered = list(views.values())
    return [*ordered, across] if across.resources else ordered


def protected(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["resources"] if r["protect"]]


def short_type(type_: str) -> str:
    """aws:ec2/vpc:Vpc -> aws:Vpc; lepton:aws:EksCluster stays."""
    package, _, rest = type_.partition(":")
    return f"{package}:{rest.rsplit(':', 1)[-1]}" if "/" in rest else type_
