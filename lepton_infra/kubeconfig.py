"""Kubeconfigs the platform writes: one cluster, one user, one current context joining them.

Every cell's cluster gives the in-cluster layer a Kubernetes provider from one of these, and the mesh gives istiod one
per remote cluster; only the cluster's address and how the user authenticates differ.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def single_cluster(name: str, cluster: Mapping[str, Any], user: Mapping[str, Any]) -> str:
    """A JSON kubeconfig of ``cluster`` (server, certificate-authority-data) and ``user``, both named ``name``."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": dict(cluster)}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": dict(user)}],
        }
    )


def exec_user(command: str, args: Sequence[str] = (), **options: Any) -> dict[str, Any]:
    """A user whose token comes from ``command`` (a credential plugin), which must never prompt: `pulumi up` runs
    unattended."""
    plugin = {"apiVersion": EXEC_API_VERSION, "command": command, **({"args": list(args)} if args else {}), **options}
    return {"exec": {**plugin, "interactiveMode": "Never"}}
