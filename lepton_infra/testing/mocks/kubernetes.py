"""Answers of the Kubernetes provider (pulumi_kubernetes): objects as the API server returns them, Helm releases deployed."""

from __future__ import annotations

from ._shapes import hex_of

PREFIX = "kubernetes"


def _k8s(m, name, inputs, region):
    meta = inputs.get("metadata") or {}
    ns = meta.get("namespace")
    obj = meta.get("name") or name
    return (f"{ns}/{obj}" if ns else obj), {"metadata": {**meta, "name": obj, "uid": hex_of(name, 32)}}


def _helm_release(m, name, inputs, region):
    ns = inputs.get("namespace", "default")
    rname = inputs.get("name") or name
    return f"{ns}/{rname}", {"name": rname, "status": {"status": "deployed", "namespace": ns, "name": rname, "revision": 1}}


RESOURCES = {"kubernetes:helm.sh/v3:Release": _helm_release}
INVOKES: dict = {}


def default(m, name, inputs, region):
    """Every other Kubernetes object: named, namespaced and given a uid, as the API server does."""
    return _k8s(m, name, inputs, region)
