"""``--format mermaid``: the topology as a Mermaid flowchart (GitHub renders it in Markdown): clouds, their cells,
each cell's cluster, GPU pools, data lake and models, and the mesh links between cells."""

from __future__ import annotations

import re
from typing import Any

from . import _tree
from .terminal import Style

# What the topology shows, by component token (components/<cloud>/*.py TOKEN): kind -> token suffixes.
KINDS = {
    "cluster": (":EksCluster", ":AksCluster", ":GkeCluster"),
    "pool": (":GpuNodePool",),
    "lake": (":DataLake", ":InClusterLake"),
    "model": (":ModelDeployment",),
}
# Istio's remote secret (components/kubernetes/mesh.py remote_secret): in one cell, naming the cluster it reaches.
MULTICLUSTER_LABEL = "istio/multiCluster"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"


def render(doc: dict[str, Any], style: Style) -> str:
    out = ["flowchart LR", f"  %% stack {doc['stack']}: {doc['note']}"]
    accelerator_of = {(g["cell"], pool): g["accelerator"] for g in doc["gpu_capacity"] for pool in g["pools"]}
    cloud_of = {c["name"]: c["cloud"] for c in doc.get("cells", [])}
    views = [v for v in _tree.cells(doc) if v.resource is not None]
    by_cloud: dict[str, list[_tree.CellView]] = {}
    for view in views:
        by_cloud.setdefault(cloud_of.get(view.name, "cloud"), []).append(view)
    edges: list[str] = []
    for cloud, cloud_views in by_cloud.items():
        out.append(f'  subgraph {_id("cloud", cloud)}["{_label(cloud)}"]')
        for view in cloud_views:
            cell_id = _id("cell", view.name)
            region = next((c["region"] for c in doc.get("cells", []) if c["name"] == view.name), "")
            out.append(f'    subgraph {cell_id}["cell {_label(view.name)} · {_label(region)}"]')
            found: dict[str, list[str]] = {kind: [] for kind in KINDS}
            prefix = view.resource["name"] + "-"
            for group in view.groups.values():
                head = group.head
                kind = next((k for k, suffixes in KINDS.items() if head["type"].endswith(suffixes)), None)
                if kind is None:
                    continue
                node = _id(kind, head["urn"])
                short = head["name"].removeprefix(prefix)
                text = {
                    "cluster": f"cluster {head['name']}",
                    "pool": f"GPU pool {short}"
                    + (f" · {accelerator_of[(view.name, short)]}" if (view.name, short) in accelerator_of else ""),
                    "lake": f"data lake {head['name']}",
                    "model": f"model {short}",
                }[kind]
                out.append(f'      {node}["{_label(text)}"]')
                found[kind].append(node)
            if not found["cluster"]:  # an existing cluster (components/existing): the platform does not create it
                found["cluster"].append(_id("cluster", view.resource["urn"]))
                out.append(f'      {found["cluster"][0]}["existing cluster"]')
            out.append("    end")
            for cluster in found["cluster"]:
                edges += [f"  {cluster} --> {node}" for node in found["pool"] + found["model"]]
            edges += [f"  {model} -.->|reads weights| {lake}" for model in found["model"] for lake in found["lake"]]
        out.append("  end")
    out += edges
    out += [f"  {_id('cell', a)} <-->|mesh mTLS| {_id('cell', b)}" for a, b in mesh_links(doc)]
    return "\n".join(out) + "\n"


def mesh_links(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Pairs of cells whose clusters' istiods watch each other (each holds a remote secret for the other)."""
    pairs = set()
    env = doc.get("environment", "")
    for r in doc["resources"]:
        metadata = r["inputs"].get("metadata") or {} if r["type"] == "kubernetes:core/v1:Secret" else {}
        if (metadata.get("labels") or {}).get(MULTICLUSTER_LABEL) != "true":
            continue
        remote = (metadata.get("annotations") or {}).get(CLUSTER_ANNOTATION)
        local = r["name"].removeprefix(f"{env}-").split("-remote-secret-")[0]
        if remote and local:
            pairs.add(tuple(sorted((local, remote))))
    return sorted(pairs)


def _id(kind: str, key: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', key.rsplit('::', 1)[-1])}"


def _label(text: str) -> str:
    return text.replace('"', "#quot;")
