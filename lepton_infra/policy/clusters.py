"""Private cluster endpoints in protected environments (README, "Secure by default").

EKS ``vpcConfig.endpointPublicAccess`` false; AKS ``apiServerAccessProfile.enablePrivateCluster`` true; GKE
``privateClusterConfig.enablePrivateEndpoint`` true. An existing cluster (``cloud: existing``) is not created by the
platform: its endpoint is not ours to check.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get

NAME = "private-cluster-endpoint"


def check(resource: Resource, stack: StackContext) -> Iterator[str]:
    if not stack.protected:
        return
    where = f"in the protected environment {stack.environment}"
    if resource.type == t.EKS_CLUSTER and get(resource.inputs, "vpcConfig", "endpointPublicAccess") is not False:
        yield f"EKS cluster {resource.name} has a public API endpoint {where}; right: vpcConfig.endpointPublicAccess false (endpointPrivateAccess true)"
    if resource.type == t.AKS_CLUSTER and get(resource.inputs, "apiServerAccessProfile", "enablePrivateCluster") is not True:
        yield f"AKS cluster {resource.name} is not a private cluster {where}; right: apiServerAccessProfile.enablePrivateCluster true"
    if resource.type == t.GKE_CLUSTER and get(resource.inputs, "privateClusterConfig", "enablePrivateEndpoint") is not True:
        yield f"GKE cluster {resource.name} has a public endpoint {where}; right: privateClusterConfig.enablePrivateEndpoint true"


RULE = Rule(
    NAME,
    "In a protected environment the Kubernetes API of every cluster the platform creates is private (EKS, AKS, GKE).",
    "resource",
    check,
    not_covered=("existing clusters (cloud: existing), whose endpoint the platform does not create",),
)
