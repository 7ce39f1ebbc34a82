"""One cell of each cloud, built by the composition from the same GPU pool and model spec, for the cell-contract tests.

Each cloud's cell is built twice, protected (prod) and unprotected (dev), by ``lepton_infra.composition.Cell`` under
the offline harness, once per test process. What each foundation's ``bind_model_reader`` gave a model (the identity
binding) is recorded on the way, so the parity tests can take out exactly that and nothing else.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any, Mapping

import pulumi
import pytest

from lepton_infra.composition import MODELS_NAMESPACE, Cell
from lepton_infra.composition.foundations import FOUNDATIONS
from lepton_infra.conventions import Taint
from lepton_infra.spec import PlatformSpec
from lepton_infra.testing import OfflinePlan, run

CLOUDS = ("aws", "azure", "gcp")
GCP_PROJECT = "lepton-dev-123456"
# Where each cloud's cell lives, and the provider config `pulumi up` would have for it.
CELLS: dict[str, dict[str, Any]] = {
    "aws": {"cloud": "aws", "name": "aws-use1", "region": "us-east-1"},
    "azure": {"cloud": "azure", "name": "azure-weu", "region": "westeurope"},
    "gcp": {"cloud": "gcp", "name": "gcp-usc1", "region": "us-central1"},
}
CONFIG: dict[str, dict[str, str]] = {
    "aws": {"aws:region": "us-east-1"},
    "azure": {"azure-native:location": "westeurope"},
    "gcp": {"gcp:project": GCP_PROJECT, "gcp:region": "us-central1"},
}

# The same on every cloud: one spot T4 pool (T4 is the accelerator all three offer with one GPU per node), one model.
GPU_POOL = {"name": "t4", "accelerator": "t4", "gpus_per_node": 1, "capacity": "spot", "min_size": 0, "max_size": 2}
MODEL = {"name": "classifier", "accelerator": "t4", "gpus": 1, "artifact": "classifier/v1/model.pt"}
PUBLIC_ACCESS_CIDRS = ["203.0.113.0/24"]
# docs/design.md, "Cross-cloud conventions", spelt here rather than taken from lepton_infra.conventions.
CONTRACT_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")


def platform_spec(cloud: str, protected: bool) -> PlatformSpec:
    """A one-cell platform on ``cloud``; unprotected, its API endpoint is public to PUBLIC_ACCESS_CIDRS only."""
    cluster = {} if protected else {"public_access_cidrs": PUBLIC_ACCESS_CIDRS}
    return PlatformSpec.model_validate(
        {
            "environment": "prod" if protected else "dev",
            "protected": protected,
            "cells": [{**CELLS[cloud], "cluster": cluster, "gpu_pools": [GPU_POOL]}],
            "models": [MODEL],
        }
    )


@dataclass(frozen=True)
class Binding:
    """What a foundation's ``bind_model_reader`` gave one model's pods, resolved."""

    service_account_annotations: Mapping[str, str]
    pod_labels: Mapping[str, str]
    env: Mapping[str, str]


@dataclass(frozen=True)
class BuiltCell:
    cloud: str
    protected: bool
    spec: PlatformSpec
    name: str  # the Cell component's name, <environment>-<cell>: every resource of the cell is named after it
    plan: OfflinePlan
    bindings: Mapping[str, Binding]  # by the model's service account
    image_ref: str  # the serving image in the cell's registry
    models_uri: str  # the foundation's models zone (s3://, abfs://, gs://)

    @property
    def cell_spec(self):
        return self.spec.cells[0]


def _recording_bindings(build_foundation, exported: list[str]):
    """``build_foundation`` whose foundation's ``bind_model_reader`` also exports what it returns (to read it back
    resolved); the foundation itself is otherwise the cloud's own."""

    def build(parent, name, spec, cell):
        foundation = build_foundation(parent, name, spec, cell)
        bind = foundation.bind_model_reader

        def bind_and_record(namespace: str, service_account: str):
            binding = bind(namespace, service_account)
            key = f"binding:{namespace}/{service_account}"
            pulumi.export(key, {"annotations": binding.service_account_annotations, "pod_labels": dict(binding.pod_labels),
                                "env": dict(binding.env)})
            exported.append(key)
            return binding

        return dataclasses.replace(foundation, bind_model_reader=bind_and_record)

    return build


@cache
def built_cell(cloud: str, protected: bool) -> BuiltCell:
    """The cloud's cell, built once per test process; tests only read it."""
    spec = platform_spec(cloud, protected)
    name = f"{spec.environment}-{spec.cells[0].name}"
    module = importlib.import_module(FOUNDATIONS[cloud].module)
    exported: list[str] = []

    def program():
        cell = Cell(name, spec)
        pulumi.export("image_ref", cell.image_ref)
        pulumi.export("models_uri", cell.models_uri)

    # The composition looks the foundation up in the cloud's module at build time (composition/foundations.py).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "build_foundation", _recording_bindings(module.build_foundation, exported))
        plan = run(program, config=CONFIG[cloud])
    outputs = plan.stack_outputs
    bindings = {}
    for key in exported:
        value = outputs[key]
        bindings[key.rsplit("/", 1)[1]] = Binding(value["annotations"], value["pod_labels"], value["env"])
    return BuiltCell(cloud, protected, spec, name, plan, bindings, outputs["image_ref"], outputs["models_uri"])


def model_objects(cell: BuiltCell) -> list:
    """The model's Kubernetes objects: everything its ModelDeployment declares, and the cell's models namespace."""
    plan = cell.plan
    (deployment,) = plan.of_type("lepton:kubernetes:ModelDeployment")
    namespaces = [n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == MODELS_NAMESPACE]
    return [*plan.descendants(deployment), *namespaces]
