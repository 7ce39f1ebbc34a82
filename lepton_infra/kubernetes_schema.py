"""Check the Kubernetes objects a program declares against the Kubernetes API schema, offline.

kubernetes-validate ships the upstream OpenAPI schemas per Kubernetes version; strict mode also rejects fields the
API does not know (a typo the API server would silently drop). Custom resources (Istio) have no upstream schema and
are returned separately so callers can check them by their own rules.
"""

from __future__ import annotations

from typing import Any, Iterable

from .plan_formats.document import integers as _ints  # the mock transport sends every number as a float
from .testing import OfflinePlan, PlannedResource

NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


def manifest(resource: PlannedResource) -> dict[str, Any]:
    return _ints(dict(resource.inputs))


def kubernetes_objects(plan: OfflinePlan) -> list[PlannedResource]:
    """Every in-cluster object (not Helm releases, not providers) the plan declares."""
    return [r for r in plan.resources if r.type.startswith("kubernetes:") and not r.type.startswith(NOT_OBJECTS)]


def schema_errors(resources: Iterable[PlannedResource], kubernetes_version: str) -> tuple[list[str], list[PlannedResource]]:
    """(errors, custom resources without an upstream schema) for ``resources`` at ``kubernetes_version`` (e.g. 1.35)."""
    import kubernetes_validate

    version = kubernetes_version if kubernetes_version.count(".") == 2 else f"{kubernetes_version}.0"
    errors: list[str] = []
    custom: list[PlannedResource] = []
    for resource in resources:
        try:
            kubernetes_validate.validate(manifest(resource), version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            custom.append(resource)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path) or "<root>"
            errors.append(f"{resource.type} {resource.name}: {path}: {exc.message}")
    return errors, custom
