"""The Azure cell's spec: Azure's names and ranges are checked before anything exists, and a public API server
needs its authorized ranges, as on AWS."""

import pytest

from lepton_infra.spec import SpecError
from lepton_infra.spec.azure import AzureCellSpec, azure_tags


def cell(**overrides):
    return {"name": "az-weu", "region": "westeurope", **overrides}


def problems(**overrides) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        AzureCellSpec(**cell(**overrides))
    return dict(caught.value.issues)


def test_defaults_are_a_patch_channel_standard_tier_host_encrypted_cluster_and_a_zrs_lake():
    spec = AzureCellSpec(**cell())
    assert spec.cloud == "azure"
    assert (spec.cluster.upgrade_channel, spec.cluster.node_os_upgrade_channel) == ("patch", "NodeImage")
    assert (spec.cluster.sku_tier, spec.cluster.encryption_at_host) == ("Standard", True)
    assert spec.cluster.private_endpoint is None and spec.cluster.endpoint_is_private(True)
    assert (spec.data_lake.redundancy, spec.data_lake.soft_delete_retention_days) == ("ZRS", 30)
    assert spec.data_lake.zones == ["raw", "curated", "features", "models"]
    assert (spec.network.nodes, spec.network.dns_service_ip) == ("10.0.0.0/18", "172.16.0.10")


def test_an_aws_style_region_names_azures_spelling():
    assert "westeurope" in problems(region="eu-west-1")["region"]


def test_pools_must_be_offered_on_azure():
    assert "aws, gcp" in problems(gpu_pools=[{"name": "l4", "accelerator": "l4"}])["gpu_pools[0].accelerator"]


def test_pool_names_must_be_distinct_valid_aks_pool_names():
    issues = problems(
        gpu_pools=[
            {"name": "h100-spot", "accelerator": "h100", "gpus_per_node": 8},
            {"name": "h100spot", "accelerator": "h100", "gpus_per_node": 8},
            {"name": "system", "accelerator": "t4"},
            {"name": "4x-t4", "accelerator": "t4", "gpus_per_node": 4},
        ]
    )
    assert "gpu_pools[0].name" not in issues
    assert "'h100spot'" in issues["gpu_pools[1].name"] and "'h100-spot'" in issues["gpu_pools[1].name"]
    assert "system pool" in issues["gpu_pools[2].name"]
    assert "starting with a letter" in issues["gpu_pools[3].name"]


def test_ranges_may_not_overlap_and_the_node_subnet_lies_in_the_vnet():
    issues = problems(network={"service_cidr": "10.0.0.0/20", "node_subnet_cidr": "10.1.0.0/24"})
    assert "overlaps cidr" in issues["network.service_cidr"]
    assert "inside the VNet" in issues["network.node_subnet_cidr"]


def test_zones_must_name_filesystems():
    assert "3-63" in problems(data_lake={"zones": ["raw", "ml"]})["data_lake.zones[1]"]


def test_admin_groups_are_entra_object_ids():
    assert "GUID" in problems(cluster={"admin_group_object_ids": ["ml-admins"]})["cluster.admin_group_object_ids[0]"]


@pytest.mark.parametrize("protected,private,cidrs,expected", [
    (False, None, [], True),
    (True, None, [], False),
    (False, False, ["0.0.0.0/0"], False),
    (False, True, [], False),
])
def test_a_public_api_server_needs_authorized_ranges(protected, private, cidrs, expected):
    spec = AzureCellSpec(**cell(cluster={"private_endpoint": private, "public_access_cidrs": cidrs}))
    issues = dict(spec.platform_issues(protected, serves_models=False))
    assert (("cluster", "public_access_cidrs") in issues) is expected


def test_models_need_the_models_zone():
    spec = AzureCellSpec(**cell(cluster={"private_endpoint": True}, data_lake={"zones": ["raw"]}))
    issues = dict(spec.platform_issues(False, serves_models=True))
    assert issues == {("data_lake", "zones"): "models are served from the 'models' zone; add it"}


def test_platform_tags_are_spelled_as_azure_accepts_them():
    assert azure_tags({"lepton.ai/environment": "dev", "cost&center": "ml", "team": "x"}) == {
        "lepton.ai_environment": "dev",
        "cost_center": "ml",
        "team": "x",
    }


def test_the_registry_takes_a_customer_managed_key_unless_the_spec_opts_out_by_name():
    assert AzureCellSpec(**cell()).registry.customer_managed_key is True
    opted_out = AzureCellSpec(**cell(registry={"customer_managed_key": False}))
    assert opted_out.registry.customer_managed_key is False and opted_out.registry.repository == "serving"
    assert "registry.customer_managed_key" in problems(registry={"customer_managed_key": "maybe"})
    assert "registry.customer_mangaed_key" in problems(registry={"customer_mangaed_key": False})
