"""``--format yaml``: the Kubernetes objects the platform would apply, one YAML document each, in URN order.

Each object is the resource's inputs (apiVersion, kind, metadata, ...), secrets masked, as the Kubernetes provider
would send it; the stream passes ``kubernetes-validate --strict`` (custom resources are checked against their CRDs
by lepton_infra/upstream_schemas.py). Helm releases are listed after the objects, as comments, with chart, version,
repository and values: Helm renders their templates at apply time, so their objects cannot be shown here.
"""

from __future__ import annotations

from typing import Any

import yaml

from .terminal import Style

HELM_RELEASE = "kubernetes:helm.sh/"
NOT_OBJECTS = (HELM_RELEASE, "pulumi:providers:")  # as lepton_infra/kubernetes_schema.py NOT_OBJECTS
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when PyYAML has it: several times faster


def objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's in-cluster objects (not Helm releases, not providers)."""
    return [r for r in doc["resources"] if r["type"].startswith("kubernetes:") and not r["type"].startswith(NOT_OBJECTS)]


def releases(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["resources"] if r["type"].startswith(HELM_RELEASE)]


def render(doc: dict[str, Any], style: Style) -> str:
    out = [f"# stack {doc['stack']}: {doc['note']}"]
    for r in objects(doc):
        out += ["---", f"# {r['urn']}", _dump(r["inputs"]).rstrip("\n")]
    helm = releases(doc)
    if helm:
        out += ["---", f"# {len(helm)} Helm releases (templates rendered by Helm at apply time):"]
    for r in helm:
        inputs = r["inputs"]
        repo = (inputs.get("repositoryOpts") or {}).get("repo", "")
        release = {
            "release": inputs.get("name", r["name"]),
            "namespace": inputs.get("namespace"),
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "repository": repo,
            "values": inputs.get("values", {}),
        }
        out += [f"# {r['urn']}"] + ["# " + line if line else "#" for line in _dump(release).splitlines()]
    return "\n".join(out) + "\n"


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
