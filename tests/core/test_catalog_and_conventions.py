"""The accelerator catalog and the cross-cloud scheduling contract."""

import pytest

from lepton_infra import catalog, conventions


@pytest.mark.parametrize(
    "accelerator,gpus,expected",
    [("l4", 1, "g6.xlarge"), ("h100", 8, "p5.48xlarge"), ("a100-80gb", 8, "p4de.24xlarge"), ("a10g", 1, "g5.xlarge"), ("t4", 1, "g4dn.xlarge")],
)
def test_aws_machine_types_come_from_the_catalog(accelerator, gpus, expected):
    assert catalog.machine_type(accelerator, "aws", gpus) == expected


def test_gcp_entries_carry_machine_and_accelerator_type():
    machine = catalog.machine_type("h100", "gcp", 8)
    assert (machine.machine_type, machine.accelerator_type) == ("a3-highgpu-8g", "nvidia-h100-80gb")


def test_an_accelerator_a_cloud_lacks_names_the_clouds_that_have_it():
    with pytest.raises(catalog.CatalogError, match=r"not offered on gcp; clouds that offer it: aws"):
        catalog.check_offered("a10g", "gcp", 1)


def test_existing_clusters_bring_their_own_nodes():
    catalog.check_offered("a10", "existing", 3)


def test_every_catalog_entry_is_offered_somewhere():
    for name in catalog.ACCELERATORS:
        assert catalog.clouds_offering(name), name


def test_the_gpu_taint_converts_to_the_eks_spelling():
    assert conventions.GPU_TAINT.as_eks() == {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
    assert conventions.GPU_TAINT.as_kubernetes()["effect"] == "NoSchedule"
    assert conventions.GPU_TAINT.toleration() == {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def test_an_unknown_taint_effect_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="NoSchedule, PreferNoSchedule, NoExecute"):
        conventions.eks_taint_effect("Never")


def test_gpu_node_labels_carry_the_contract():
    labels = conventions.gpu_node_labels("l4-spot", "l4", "spot")
    assert labels == {
        "lepton.ai/accelerator": "l4",
        "lepton.ai/pool": "l4-spot",
        "nvidia.com/gpu.present": "true",
        "lepton.ai/capacity": "spot",
    }


def test_physical_names_are_short_stable_and_dns_safe():
    long = conventions.physical_name("prod", "aws-use1", "x" * 80)
    assert len(long) == 63 and conventions.is_dns_label(long)
    assert long == conventions.physical_name("prod", "aws-use1", "x" * 80)
    assert conventions.physical_name("Dev", "Lake") == "dev-lake"
