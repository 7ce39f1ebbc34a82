"""Shared helpers for the in-cluster component tests."""

from __future__ import annotations

from typing import Callable

import pulumi
import pulumi_kubernetes as k8s

from lepton_infra.kubernetes_schema import kubernetes_objects, schema_errors
from lepton_infra.testing import OfflinePlan, PlannedResource, rejected, run  # noqa: F401  (rejected: for the tests)

KUBERNETES_VERSION = "1.35"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


def run_with_provider(build: Callable[[pulumi.ResourceOptions], object]) -> OfflinePlan:
    """Run ``build(opts)`` with an explicit Kubernetes provider in ``opts``, as the Platform passes one."""

    def program():
        provider = k8s.Provider("cluster", kubeconfig=KUBECONFIG)
        build(pulumi.ResourceOptions(provider=provider))

    return run(program)


def custom_resources_after_strict_schema_check(plan: OfflinePlan) -> list[PlannedResource]:
    """Assert every typed Kubernetes object passes the 1.35 schema (strict); return the custom resources."""
    objects = kubernetes_objects(plan)
    assert objects, "the plan declares no Kubernetes objects"
    errors, custom = schema_errors(objects, KUBERNETES_VERSION)
    assert errors == []
    return custom


def provider_of(plan: OfflinePlan) -> str:
    return plan.one("pulumi:providers:kubernetes").urn


def uses_provider(resource: PlannedResource, provider_urn: str) -> bool:
    return bool(resource.provider) and resource.provider.startswith(provider_urn + "::")
