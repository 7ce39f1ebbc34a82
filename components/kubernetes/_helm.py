"""Small helpers the in-cluster components share: a labelled Namespace and a pinned Helm release."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pulumi
import pulumi_kubernetes.core.v1 as core
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

# Long enough for images to pull on fresh GPU nodes; atomic rolls a failed install back instead of leaving it half-done.
HELM_TIMEOUT_SECONDS = 900


def child_name(parent: pulumi.Resource, suffix: str) -> str:
    """Logical name of a child: prefixed with its component's name, so two cells' components never share a URN."""
    return f"{parent.pulumi_resource_name}-{suffix}"


def namespace(parent: pulumi.Resource, name: str, labels: Mapping[str, str]) -> core.Namespace:
    return core.Namespace(
        child_name(parent, name),
        metadata={"name": name, "labels": dict(labels)},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def release(
    parent: pulumi.Resource,
    name: str,
    *,
    chart: str,
    repo: str,
    version: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    depends_on: Sequence[pulumi.Resource] = (),
    options: pulumi.ResourceOptions | None = None,
) -> Release:
    """A helm.v3.Release pinned to ``version`` from ``repo``, installed atomically (rolled back on failure).

    ``options`` are merged in (a data-bearing release's protect / retain_on_delete)."""
    return Release(
        child_name(parent, name),
        name=name,
        chart=chart,
        version=version,
        repository_opts=RepositoryOptsArgs(repo=repo),
        namespace=namespace,
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        timeout=HELM_TIMEOUT_SECONDS,
        max_history=10,
        opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)), options),
    )
