"""The platform spec rejects bad configs with the field path and what would be right."""

import json

import pytest

from lepton_infra.spec import (
    AwsCellSpec,
    PlatformSpec,
    SpecError,
    json_schema,
    parse_platform_spec,
)


def minimal(**overrides):
    spec = {
        "environment": "dev",
        "cells": [
            {
                "name": "aws-use1",
                "region": "us-east-1",
                "cluster": {"public_access_cidrs": ["198.51.100.0/24"]},
                "gpu_pools": [{"name": "l4", "accelerator": "l4", "capacity": "spot", "min_size": 0, "max_size": 2}],
            }
        ],
        "models": [{"name": "classifier", "accelerator": "l4", "artifact": "classifier/v1/model.pt"}],
    }
    spec.update(overrides)
    return spec


def issues_of(data) -> dict[str, str]:
    with pytest.raises(SpecError) as err:
        parse_platform_spec(data)
    return dict(err.value.issues)


def test_a_minimal_spec_fills_secure_defaults():
    spec = parse_platform_spec(minimal())
    cell = spec.cells[0]
    assert cell.data_lake.zones == ["raw", "curated", "features", "models"]
    assert cell.mesh.mtls == "STRICT"
    assert cell.network.availability_zones == 2
    assert cell.cluster.endpoint_is_private(spec.protected) is False
    assert cell.cluster.endpoint_is_private(parse_platform_spec(minimal(protected=True)).protected) is True


def test_a_public_api_endpoint_must_name_who_may_reach_it():
    unscoped = minimal()
    del unscoped["cells"][0]["cluster"]
    message = issues_of(unscoped)["cells[0].cluster.public_access_cidrs"]
    assert "0.0.0.0/0" in message and "private_endpoint" in message
    protected = parse_platform_spec(minimal(protected=True, cells=unscoped["cells"]))  # private: nothing to scope
    assert protected.cells[0].cluster.endpoint_is_private(protected.protected) is True


def test_a_misspelt_key_names_the_path_and_the_allowed_keys():
    data = minimal()
    data["cells"][0]["gpu_pools"][0]["max_szie"] = 3
    issues = issues_of(data)
    message = issues["cells[0].gpu_pools[0].max_szie"]
    assert "unknown key 'max_szie'" in message and "max_size" in message


def test_min_greater_than_max_is_rejected_at_the_pool():
    data = minimal()
    data["cells"][0]["gpu_pools"][0].update(min_size=3, max_size=1)
    issues = issues_of(data)
    assert "min_size 3 is greater than max_size 1" in issues["cells[0].gpu_pools[0].min_size"]


def test_desired_outside_the_range_is_rejected():
    data = minimal()
    data["cells"][0]["gpu_pools"][0].update(min_size=0, max_size=2, desired_size=5)
    assert "[0, 2]" in issues_of(data)["cells[0].gpu_pools[0].desired_size"]


def test_an_accelerator_aws_lacks_names_the_clouds_that_offer_it():
    data = minimal(models=[])
    data["cells"][0]["gpu_pools"][0]["accelerator"] = "a10"
    message = issues_of(data)["cells[0].gpu_pools[0].accelerator"]
    assert "not offered on aws" in message and "azure" in message


def test_a_gpu_count_the_cloud_lacks_lists_the_counts_it_has():
    data = minimal(models=[])
    data["cells"][0]["gpu_pools"][0].update(accelerator="h100", gpus_per_node=4)
    assert "1, 8 GPUs per node" in issues_of(data)["cells[0].gpu_pools[0].gpus_per_node"]


def test_an_unknown_accelerator_lists_the_catalog():
    data = minimal(models=[])
    data["cells"][0]["gpu_pools"][0]["accelerator"] = "h200x"
    assert "allowed: h100, a100-80gb" in issues_of(data)["cells[0].gpu_pools[0].accelerator"]


@pytest.mark.parametrize("bad", ["Upper", "under_score", "-lead", "x" * 64])
def test_names_must_be_dns_1123_labels(bad):
    message = issues_of(minimal(environment=bad))["environment"]
    assert "DNS-1123" in message


def test_a_literal_field_lists_its_allowed_values():
    data = minimal()
    data["cells"][0]["gpu_pools"][0]["capacity"] = "reserved"
    assert "'spot' or 'on-demand'" in issues_of(data)["cells[0].gpu_pools[0].capacity"]


def test_a_model_needs_a_pool_with_its_accelerator():
    data = minimal(models=[{"name": "llm", "accelerator": "h100", "artifact": "llm/model.pt"}])
    assert "pools offer: l4" in issues_of(data)["models[0].accelerator"]


def test_a_model_cannot_ask_for_more_gpus_than_a_node_has():
    data = minimal(models=[{"name": "llm", "accelerator": "l4", "gpus": 2, "artifact": "llm/model.pt"}])
    assert "at most 1" in issues_of(data)["models[0].gpus"]


def test_models_need_the_models_zone():
    data = minimal()
    data["cells"][0]["data_lake"] = {"zones": ["raw"]}
    assert "'models'" in issues_of(data)["cells[0].data_lake.zones"]


def test_the_backup_region_must_differ_from_the_cell_region():
    data = minimal()
    data["cells"][0]["data_lake"] = {"backup": {"region": "us-east-1"}}
    assert "must differ" in issues_of(data)["cells[0].data_lake.backup.region"]


@pytest.mark.parametrize("region,problem", [("us-central1", "must differ"), ("eastus", "not a GCP region")])
def test_a_gcp_lakes_backup_region_is_another_gcp_region(region, problem):
    data = minimal()
    data["cells"][0] = {"name": "gcp-usc1", "cloud": "gcp", "region": "us-central1", "data_lake": {"backup": {"region": region}}}
    assert problem in issues_of(data)["cells[0].data_lake.backup.region"]


def test_a_canary_must_be_a_different_version():
    data = minimal(models=[{"name": "m", "accelerator": "l4", "artifact": "a", "canary": {"version": "v1", "artifact": "b"}}])
    assert "must differ" in issues_of(data)["models[0].canary.version"]


def test_duplicate_names_are_rejected():
    data = minimal()
    data["cells"][0]["gpu_pools"].append(dict(data["cells"][0]["gpu_pools"][0]))
    assert "more than once" in issues_of(data)["cells[0].gpu_pools[1].name"]


def test_an_unsupported_kubernetes_version_lists_the_supported_ones():
    data = minimal()
    data["cells"][0]["cluster"] = {"kubernetes_version": "1.20"}
    assert "'1.35'" in issues_of(data)["cells[0].cluster.kubernetes_version"]


def test_every_problem_is_reported_at_once():
    data = minimal(environment="Dev", tags="nope")
    assert {"environment", "tags"} <= set(issues_of(data))


def test_the_spec_accepts_a_json_string_as_pulumi_config_passes_it():
    assert parse_platform_spec(json.dumps(minimal())).environment == "dev"
    assert "not valid JSON" in issues_of("{not json")["<root>"]


def test_the_json_schema_describes_the_stack_config_for_editors():
    schema = json_schema()
    assert schema["title"] == "lepton-platform:platform"
    assert schema["additionalProperties"] is False
    cell = schema["$defs"]["AwsCellSpec"]
    assert cell["additionalProperties"] is False and "gpu_pools" in cell["properties"]


def test_spec_models_are_immutable():
    spec = parse_platform_spec(minimal())
    with pytest.raises(Exception):
        spec.cells[0].name = "other"  # type: ignore[misc]
    assert isinstance(spec, PlatformSpec) and isinstance(spec.cells[0], AwsCellSpec)


def test_archiving_waits_the_30_days_s3_keeps_objects_in_standard_ia():
    data = minimal()
    data["cells"][0]["data_lake"] = {"lifecycle": {"infrequent_access_after_days": 30, "archive_after_days": 45}}
    assert ">= 60" in issues_of(data)["cells[0].data_lake.lifecycle.archive_after_days"]
    data["cells"][0]["data_lake"]["lifecycle"]["archive_after_days"] = 60
    assert parse_platform_spec(data).cells[0].data_lake.lifecycle.archive_after_days == 60


def test_an_image_tag_leaves_room_for_the_content_suffix():
    data = minimal()
    data["cells"][0]["registry"] = {"image_tag": "v" * 116}
    assert "image_tag" in " ".join(issues_of(data))
    data["cells"][0]["registry"]["image_tag"] = "v" * 115
    assert parse_platform_spec(data).cells[0].registry.image_tag == "v" * 115


def test_a_spec_class_built_directly_raises_the_same_spec_error_as_the_dict_form():
    from lepton_infra.spec import GpuPoolSpec

    with pytest.raises(SpecError) as direct:
        GpuPoolSpec(name="l4", accelerator="l4", min_size=5, max_size=2)
    from_dict = issues_of(minimal(cells=[{**minimal()["cells"][0], "gpu_pools": [
        {"name": "l4", "accelerator": "l4", "min_size": 5, "max_size": 2}]}]))
    assert "pydantic" not in str(direct.value) and "errors.pydantic.dev" not in str(direct.value)
    ((field, message),) = direct.value.issues
    assert message == from_dict[f"cells[0].gpu_pools[0].{field}"]


def test_cells_of_every_cloud_validate_with_their_own_region_names():
    spec = parse_platform_spec(minimal(cells=[
        {**minimal()["cells"][0]},
        # The cells' networks are routed to each other over VPN, so each takes its own ranges.
        {"name": "az-eus", "cloud": "azure", "region": "eastus", "cluster": {"public_access_cidrs": ["198.51.100.0/24"]},
         "network": {"cidr": "10.50.0.0/16"}, "gpu_pools": [{"name": "t4", "accelerator": "t4", "max_size": 2}]},
        {"name": "gcp-usc1", "cloud": "gcp", "region": "us-central1", "cluster": {"public_access_cidrs": ["198.51.100.0/24"]},
         "network": {"cidr": "10.60.0.0/20"}, "gpu_pools": [{"name": "l4", "accelerator": "l4", "max_size": 2}]},
    ]))
    assert [(c.cloud, c.region) for c in spec.cells] == [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")]


@pytest.mark.parametrize(
    "cell,field",
    [
        ({"cloud": "azure", "region": "eastus", "cluster": {"system_pool": {"vm_size": "n1-standard-4"}}}, "cells[0].cluster.system_pool.vm_size"),
        ({"cloud": "azure", "region": "us-east-1"}, "cells[0].region"),
        ({"cloud": "gcp", "region": "eastus"}, "cells[0].region"),
        ({"cloud": "gcp", "region": "us-central1", "cluster": {"system_pool": {"vm_size": "Standard_D4ds_v5"}}}, "cells[0].cluster.system_pool.vm_size"),
        ({"cloud": "openstack", "region": "r1"}, "cells[0].cloud"),
    ],
    ids=["azure-cell-gcp-machine", "azure-cell-aws-region", "gcp-cell-azure-region", "gcp-cell-azure-key", "unknown-cloud"],
)
def test_a_cell_refuses_another_clouds_names_naming_the_field(cell, field):
    base = {"name": "c1", "cluster": {"public_access_cidrs": ["198.51.100.0/24"]}}
    merged = {**base, **cell, "cluster": {**base["cluster"], **cell.get("cluster", {})}}
    issues = issues_of(minimal(cells=[merged], models=[]))
    assert field in issues, issues


def test_the_committed_json_schema_is_the_specs_own():
    from pathlib import Path

    committed = json.loads((Path(__file__).resolve().parents[2] / "stacks" / "platform.schema.json").read_text())
    assert committed == json_schema(), "regenerate it: lepton-infra schema > stacks/platform.schema.json"
