"""The cell contract, asserted once for every cloud: a protected and an unprotected cell of each cloud, built by the
composition from the same GPU pool and model spec (cells_support.py), read through each cloud's reader
(cells_readers.py). docs/design.md: "Cells", "Cross-cloud conventions", "Data safety".
"""

from lepton_infra.conventions import Taint

from cells_support import CONTRACT_TAINT, GPU_POOL, MODEL, PUBLIC_ACCESS_CIDRS

# AKS taints every spot node with this itself (AKS docs, "Add an Azure Spot node pool"); the Azure pool declares it.


def model_pod(cell):
    (deployment,) = cell.plan.of_type("kubernetes:apps/v1:Deployment")
    return deployment.inputs["spec"]["template"]["spec"]


def tolerates(tolerations: list[dict], taint: Taint) -> bool:
    """Kubernetes' rule: same key (or none, with Exists), same effect (or none), and Exists or the same value."""
    for t in tolerations:
        key_matches = t.get("key") == taint.key or (not t.get("key") and t.get("operator") == "Exists")
        effect_matches = t.get("effect") in (None, "", taint.effect)
        value_matches = t.get("operator") == "Exists" or t.get("value", "") == taint.value
        if key_matches and effect_matches and value_matches:
            return True
    return False


# --------------------------------------------------------------------------------------------------- GPU nodes
def test_every_gpu_pool_of_the_spec_is_one_node_pool_resource(cell, reader):
    assert len(reader.gpu_pools(cell.plan)) == len(cell.cell_spec.gpu_pools) == 1


def test_gpu_nodes_carry_the_contract_taint(cell, reader):
    for pool in reader.gpu_pools(cell.plan):
        taints, _ = reader.scheduling(pool)
        assert CONTRACT_TAINT in taints


def test_gpu_nodes_carry_the_contract_labels(cell, reader):
    for pool in reader.gpu_pools(cell.plan):
        _, labels = reader.scheduling(pool)
        assert labels["lepton.ai/accelerator"] == GPU_POOL["accelerator"]
        assert labels["lepton.ai/pool"] == GPU_POOL["name"]
        assert labels["lepton.ai/capacity"] == GPU_POOL["capacity"]
        assert labels["nvidia.com/gpu.present"] == "true"


def test_the_models_pods_select_labels_its_gpu_pool_carries(cell, reader):
    selector = model_pod(cell)["nodeSelector"]
    (pool,) = reader.gpu_pools(cell.plan)
    _, labels = reader.scheduling(pool)
    assert selector == {"lepton.ai/accelerator": MODEL["accelerator"]}
    assert selector.items() <= labels.items()


def test_the_models_pods_tolerate_every_taint_of_its_gpu_pool(cell, reader):
    tolerations = model_pod(cell)["tolerations"]
    (pool,) = reader.gpu_pools(cell.plan)
    taints, _ = reader.scheduling(pool)
    untolerated = {t for t in taints if not tolerates(tolerations, t)}
    assert untolerated == set()


# --------------------------------------------------------------------------------------------------- API endpoint
def test_a_protected_cells_api_endpoint_is_private(protected, reader):
    endpoint = reader.endpoint(protected.plan)
    assert endpoint.public is False and endpoint.public_cidrs == ()


def test_an_unprotected_cells_api_endpoint_is_public_only_to_the_listed_cidrs(unprotected, reader):
    endpoint = reader.endpoint(unprotected.plan)
    assert endpoint.public is True
    assert endpoint.public_cidrs == tuple(PUBLIC_ACCESS_CIDRS)


# --------------------------------------------------------------------------------------------------- identity
def model_service_account(cell):
    (account,) = [
        a for a in cell.plan.of_type("kubernetes:core/v1:ServiceAccount") if a.inputs["metadata"]["name"] == MODEL["name"]
    ]
    return account


def test_the_models_service_account_is_bound_to_the_identity_the_foundation_made_for_it(cell):
    annotations = model_service_account(cell).inputs["metadata"]["annotations"]
    assert annotations and annotations == dict(cell.bindings[MODEL["name"]].service_account_annotations)


def test_the_models_identity_may_read_the_models_zone_and_nothing_else(cell, reader):
    grants = reader.grants(cell, model_service_account(cell).inputs["metadata"]["annotations"])
    assert grants, "the model's identity can read nothing"
    assert {(g.on, g.access) for g in grants} == {("models", "read")}


# --------------------------------------------------------------------------------------------------- the lake
def test_every_zone_is_encrypted_at_rest_with_a_customer_managed_key(cell, reader):
    zones = cell.cell_spec.data_lake.zones
    assert len(zones) == 4
    keys = {zone: reader.zone_key(cell, zone) for zone in zones}
    assert [zone for zone, key in keys.items() if key is None] == []


def test_no_zone_can_be_made_public(cell, reader):
    zones = cell.cell_spec.data_lake.zones
    assert [zone for zone in zones if not reader.zone_public_access_blocked(cell, zone)] == []


# --------------------------------------------------------------------------------------------------- protection
def test_a_protected_cell_protects_and_retains_every_data_bearing_resource(protected, reader):
    data = [r for t in reader.data_bearing for r in protected.plan.of_type(t)]
    assert {r.type for r in data} == set(reader.data_bearing), "a data-bearing kind is missing from the cell"
    assert [r.name for r in data if not (r.protect and r.retain_on_delete)] == []


def test_a_protected_cell_protects_and_retains_its_cluster(protected, reader):
    """docs/design.md, "Data safety", counts the cluster among the data-bearing resources."""
    cluster = protected.plan.one(reader.cluster_type)
    assert (cluster.protect, cluster.retain_on_delete) == (True, True)


def test_an_unprotected_cell_protects_nothing(unprotected, reader):
    assert {t for t in reader.data_bearing if unprotected.plan.of_type(t)} == set(reader.data_bearing)
    assert [r.name for r in unprotected.plan.resources if r.protect or r.retain_on_delete] == []
