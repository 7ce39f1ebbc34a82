"""The existing cell's spec: registered as a cell kind, its defaults, and CPU-only models (accelerator: cpu, gpus: 0)."""

import pytest

from lepton_infra.composition.foundations import FOUNDATIONS, foundation_builder
from lepton_infra.spec import CELL_KINDS, ExistingCellSpec, ModelSpec, SpecError, parse_platform_spec

from existing_support import CPU_MODEL, platform


def test_existing_is_a_cell_kind_with_a_foundation():
    assert ExistingCellSpec in CELL_KINDS
    assert FOUNDATIONS["existing"].module == "lepton_infra.components.existing.cell"
    assert foundation_builder("existing").__module__ == "lepton_infra.components.existing.cell"


def test_defaults_an_in_cluster_lake_a_local_registry_and_a_driver_installing_gpu_runtime():
    cell = platform().cells[0]
    assert cell.data_lake.store.kind == "in_cluster" and cell.data_lake.zones == ["raw", "curated", "features", "models"]
    assert cell.registry.url == "localhost:5001"
    assert cell.gpu_runtime.install_driver is True
    assert cell.cluster.context is None


def test_a_cpu_model_needs_no_gpus_and_is_served_by_the_existing_cell():
    spec = platform()
    model = spec.models[0]
    assert (model.accelerator, model.gpus, model.on_cpu) == ("cpu", 0, True)
    assert spec.models_for(spec.cells[0]) == [model]


@pytest.mark.parametrize(
    "model,path",
    [({**CPU_MODEL, "gpus": 1}, "gpus"), ({**CPU_MODEL, "accelerator": "l4", "gpus": 0}, "gpus"), ({**CPU_MODEL, "accelerator": "cpu2"}, "accelerator")],
    ids=["cpu-with-gpus", "gpu-without-gpus", "unknown"],
)
def test_a_model_whose_gpus_do_not_match_its_accelerator_is_refused_by_field(model, path):
    with pytest.raises(SpecError) as err:
        ModelSpec.model_validate(model)
    assert [p for p, _ in err.value.issues] == [path]


def test_a_cpu_model_on_a_platform_without_an_existing_cell_is_refused():
    spec = {
        "environment": "dev",
        "cells": [{"name": "aws-use1", "cloud": "aws", "region": "us-east-1", "cluster": {"public_access_cidrs": ["203.0.113.0/24"]},
                   "gpu_pools": [{"name": "l4", "accelerator": "l4"}]}],
        "models": [CPU_MODEL],
    }
    with pytest.raises(SpecError) as err:
        parse_platform_spec(spec)
    assert [p for p, _ in err.value.issues] == ["models[0].accelerator"]
    assert "existing" in err.value.issues[0][1]


def test_the_region_is_a_free_dns_label():
    assert platform(region="local").cells[0].region == "local"
    with pytest.raises(SpecError) as err:
        platform(region="On Prem")
    assert [p for p, _ in err.value.issues] == ["cells[0].region"]


def test_the_cuda_image_needs_a_gpu_pool():
    with pytest.raises(SpecError) as err:
        platform(registry={"build_variant": "cuda"})
    assert [p for p, _ in err.value.issues] == ["cells[0].registry.build_variant"]


def test_gpu_pools_on_an_existing_cluster_take_any_catalog_accelerator():
    spec = platform(
        models=[{"name": "llm", "accelerator": "h100", "gpus": 8, "artifact": "llm/v1/model.pt"}],
        gpu_pools=[{"name": "h100", "accelerator": "h100", "gpus_per_node": 8}],
        registry={"build_variant": "cuda"},
    )
    assert spec.cells[0].accelerators == {"h100", "cpu"}


def test_an_external_lake_needs_an_http_endpoint():
    with pytest.raises(SpecError) as err:
        platform(data_lake={"store": {"kind": "external", "endpoint": "s3.example.com"}})
    # The store's tag (kind) is not part of the path: the user's file has no key "external".
    assert [p for p, _ in err.value.issues] == ["cells[0].data_lake.store.endpoint"]
