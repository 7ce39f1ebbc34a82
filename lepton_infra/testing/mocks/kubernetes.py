"""Answers of the Kubernetes provider (pulumi_kubernetes): objects as the API server returns them, Helm releases deployed."""

from __future__ import annotations

import base64

from ._shapes import fake_pem, hex_of

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


def _secret(m, name, inputs, region):
    """A Secret; one of type service-account-token comes back with the token controller's data filled in (token,
    ca.crt, namespace, base64 as the API returns data), which pulumi-kubernetes waits for (pulumi-kubernetes#2048)."""
    rid, outputs = _k8s(m, name, inputs, region)
    if inputs.get("type") == "kubernetes.io/service-account-token":
        meta = outputs["metadata"]
        account = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name", "default")
        token = f"eyJhbGciOiJSUzI1NiJ9.{hex_of(f'{name}/{account}', 48)}.{hex_of(name, 86)}"
        filled = {"token": token, "ca.crt": fake_pem(name), "namespace": meta.get("namespace") or "default"}
        outputs["data"] = {**(inputs.get("data") or {}), **{k: base64.b64encode(v.encode()).decode() for k, v in filled.items()}}
    return rid, outputs


RESOURCES = {"kubernetes:helm.sh/v3:Release": _helm_release, "kubernetes:core/v1:Secret": _secret}
INVOKES: dict = {}


def default(m, name, inputs, region):
    """Every other Kubernetes object: named, namespaced and given a uid, as the API server does."""
    return _k8s(m, name, inputs, region)
