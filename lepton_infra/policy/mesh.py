"""Mesh mTLS STRICT (docs/design.md, "Mesh").

Every cluster with istiod (a Helm release of the ``istiod`` chart) has a mesh-wide PeerAuthentication on the same
Kubernetes provider: in the root namespace (istio-system), no selector, ``mtls.mode`` STRICT; and no
PeerAuthentication anywhere weakens it (mode PERMISSIVE or DISABLE, for the workload or any port). Istio docs,
"PeerAuthentication": a policy in the root namespace without a selector applies to the whole mesh.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get, is_map, of_type

NAME = "mesh-mtls-strict"
ROOT_NAMESPACE = "istio-system"


def _is_mesh_wide(policy: Resource) -> bool:
    return get(policy.inputs, "metadata", "namespace") == ROOT_NAMESPACE and not get(policy.inputs, "spec", "selector")


def check(resources: list[Resource], stack: StackContext) -> Iterator[tuple[str, str]]:
    policies = list(of_type(resources, *t.PEER_AUTHENTICATION))
    for policy in policies:
        mode = get(policy.inputs, "spec", "mtls", "mode")
        # UNSET (or no mode) inherits from the parent policy; at the mesh-wide level that is Istio's PERMISSIVE.
        if mode != "STRICT" and (mode not in (None, "UNSET") or _is_mesh_wide(policy)):
            yield policy.urn, f"PeerAuthentication {policy.name} sets mTLS mode {mode or 'unset'}; right: STRICT"
        ports = get(policy.inputs, "spec", "portLevelMtls")
        if is_map(ports):
            for port in ports:
                if get(ports, port, "mode") not in ("STRICT", "UNSET", None):
                    yield policy.urn, f"PeerAuthentication {policy.name} sets port {port} to {get(ports, port, 'mode')}; right: STRICT"
    strict_on = {p.provider for p in policies if _is_mesh_wide(p) and get(p.inputs, "spec", "mtls", "mode") == "STRICT"}
    for release in of_type(resources, t.HELM_RELEASE):
        if get(release.inputs, "chart") == "istiod" and release.provider not in strict_on:
            yield release.urn, (
                f"istiod release {release.name} has no mesh-wide STRICT PeerAuthentication in its cluster; right: a "
                f"PeerAuthentication in {ROOT_NAMESPACE} with no selector and spec.mtls.mode STRICT"
            )


RULE = Rule(
    NAME,
    "Every Istio mesh requires mutual TLS: a mesh-wide STRICT PeerAuthentication per cluster, and none weaker.",
    "stack",
    check,
)
