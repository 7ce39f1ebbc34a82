"""Helpers of the existing-cluster tests: a one-cell platform on an existing cluster, built by the composition offline."""

from __future__ import annotations

from typing import Any, Mapping

from lepton_infra.composition import Cell
from lepton_infra.spec import PlatformSpec
from lepton_infra.testing import OfflinePlan, run

CPU_MODEL = {"name": "classifier", "accelerator": "cpu", "artifact": "classifier/v1/model.pt"}


def platform(models=(CPU_MODEL,), **cell: Any) -> PlatformSpec:
    base = {"name": "dc1", "cloud": "existing", "region": "on-prem-dc1", "registry": {"build_variant": "cpu"}}
    return PlatformSpec.model_validate({"environment": "dev", "cells": [{**base, **cell}], "models": list(models)})


def build(spec: PlatformSpec, config: Mapping[str, Any] | None = None, plan: OfflinePlan | None = None) -> OfflinePlan:
    return run(lambda: Cell(f"{spec.environment}-{spec.cells[0].name}", spec), config=dict(config or {}), plan=plan)


def container(plan: OfflinePlan, name: str | None = None) -> dict:
    (deployment,) = [d for d in plan.of_type("kubernetes:apps/v1:Deployment") if name is None or d.name.endswith(name)]
    return deployment.inputs["spec"]["template"]["spec"]["containers"][0]


def pod_spec(plan: OfflinePlan) -> dict:
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    return deployment.inputs["spec"]["template"]["spec"]


def env_of(container: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
