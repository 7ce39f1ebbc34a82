"""Parity across clouds: one GPU pool spec gives the same scheduling contract on every cloud, and one model spec the
same Kubernetes objects in every cell, but for the identity binding (docs/design.md, "Cells", "Cross-cloud
conventions"). Each cloud's objects are compared with the AWS cell's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from lepton_infra.testing import PlannedResource

from cells_readers import READERS
from cells_support import CLOUDS, CONTRACT_TAINT, MODEL, BuiltCell, built_cell, model_objects

PROTECTION = pytest.mark.parametrize("protected", [False, True], ids=["unprotected", "protected"])
REFERENCE = "aws"
OTHERS = [c for c in CLOUDS if c != REFERENCE]
MODEL_KINDS = {
    "Deployment": "kubernetes:apps/v1:Deployment",
    "Service": "kubernetes:core/v1:Service",
    "ScaledObject": "kubernetes:keda.sh/v1alpha1:ScaledObject",
    "PodMonitor": "kubernetes:monitoring.coreos.com/v1:PodMonitor",
    "PodDisruptionBudget": "kubernetes:policy/v1:PodDisruptionBudget",
    "DestinationRule": "kubernetes:networking.istio.io/v1:DestinationRule",
    "VirtualService": "kubernetes:networking.istio.io/v1:VirtualService",
    "AuthorizationPolicy": "kubernetes:security.istio.io/v1:AuthorizationPolicy",
    "ServiceAccount": "kubernetes:core/v1:ServiceAccount",
    "Namespace": "kubernetes:core/v1:Namespace",
}
SERVING_IMAGE = "<the serving image in the cell's registry>"
MODELS_ZONE = "<the lake's models zone>"


# --------------------------------------------------------------------------------------------------- GPU pools
def scheduling_contract(cloud: str, protected: bool) -> tuple[frozenset, dict[str, str]]:
    """The GPU pool's taints on the contract's key and its lepton.ai (and nvidia.com/gpu.present) labels.

    Cloud-owned taints and labels beside them (AKS's spot taint, EKS's k8s.amazonaws.com/accelerator for its
    autoscaler) are the cloud's; test_cells_contract checks model pods tolerate and select what their pool carries.
    """
    reader = READERS[cloud]
    (pool,) = reader.gpu_pools(built_cell(cloud, protected=protected).plan)
    taints, labels = reader.scheduling(pool)
    contract_labels = {k: v for k, v in labels.items() if k.startswith("lepton.ai/") or k == "nvidia.com/gpu.present"}
    return frozenset(t for t in taints if t.key == CONTRACT_TAINT.key), contract_labels


@PROTECTION
def test_one_gpu_pool_spec_gives_the_same_taint_and_lepton_labels_on_every_cloud(protected):
    found = {cloud: scheduling_contract(cloud, protected) for cloud in CLOUDS}
    reference = found[REFERENCE]
    assert reference[0] and len(reference[1]) == 4
    assert {cloud: contract for cloud, contract in found.items() if contract != reference} == {}


# --------------------------------------------------------------------------------------------------- model objects
def zone_location(uri: str) -> str:
    """scheme://authority of a models zone URI: s3://bucket, abfs://models@account.dfs.core.windows.net, gs://bucket."""
    return re.match(r"^[a-z0-9]+://[^/]*", uri).group(0)


def without_identity_binding(resource: PlannedResource, cell: BuiltCell) -> dict[str, Any]:
    """A model's Kubernetes object with what differs between clouds by design taken out: the identity binding, and
    where the cell's image and models live. What remains must be the same in every cell.

    Taken out, each only where it holds exactly the value the cell gave (so a wrong value still shows):
    - ServiceAccount annotations the foundation's identity binding gave (eks.amazonaws.com/role-arn,
      azure.workload.identity/client-id, iam.gke.io/gcp-service-account);
    - pod template labels the binding gave (azure.workload.identity/use);
    - container env entries the binding gave (AWS_REGION, AWS_DEFAULT_REGION, AZURE_STORAGE_ANON,
      GOOGLE_CLOUD_PROJECT);
    - the container image, when it is the cell's serving image (its registry host and repository are the cell's);
    - in any value, the models zone's location, scheme://authority of the foundation's models_uri (a bucket, or an
      ADLS filesystem@account), which is not an identity binding but the lake's address in that cloud; the path
      after it stays, so the artifact must be addressed alike within the zone.
    Everything else (names, labels, selectors, ports, probes, resources, security contexts, Istio specs), and the
    resource options that shape rollouts (ignore_changes, custom timeouts), is compared as declared.
    """
    binding = cell.bindings[MODEL["name"]]
    location = zone_location(cell.models_uri)

    def minus(items: dict, taken: dict) -> dict:
        return {k: v for k, v in items.items() if taken.get(k) != v}

    def walk(value: Any, path: tuple) -> Any:
        if isinstance(value, dict):
            value = {k: walk(v, (*path, k)) for k, v in value.items()}
            if path[-2:] == ("metadata", "annotations") and resource.type == MODEL_KINDS["ServiceAccount"]:
                return minus(value, dict(binding.service_account_annotations))
            if path[-3:] == ("template", "metadata", "labels"):
                return minus(value, dict(binding.pod_labels))
            return value
        if isinstance(value, list):
            items = [walk(v, (*path, i)) for i, v in enumerate(value)]
            if path[-1:] == ("env",):
                return [e for e in items if binding.env.get(e["name"], object()) != e.get("value")]
            return items
        if isinstance(value, str):
            if value == cell.image_ref and path[-1:] == ("image",):
                return SERVING_IMAGE
            if value.startswith(location + "/"):
                return MODELS_ZONE + value[len(location) :]
        return value

    return {
        "inputs": walk(copy.deepcopy(dict(resource.inputs)), ()),
        "ignore_changes": sorted(resource.ignore_changes),
        "custom_timeouts": dict(resource.custom_timeouts),
    }


def cell_neutral_objects(cloud: str, protected: bool, kind: str) -> dict[str, dict]:
    """The model's objects of ``kind`` in the cloud's cell, by name, without the identity binding."""
    cell = built_cell(cloud, protected=protected)
    return {
        r.inputs["metadata"]["name"]: without_identity_binding(r, cell) for r in model_objects(cell) if r.type == MODEL_KINDS[kind]
    }


@PROTECTION
def test_one_model_spec_gives_the_same_kinds_and_names_of_objects_in_every_cell(protected):
    found = {
        cloud: sorted((r.type, r.inputs["metadata"]["name"]) for r in model_objects(built_cell(cloud, protected=protected)))
        for cloud in CLOUDS
    }
    assert {r[0] for r in found[REFERENCE]} == set(MODEL_KINDS.values())
    assert found["azure"] == found["gcp"] == found[REFERENCE]


@PROTECTION
@pytest.mark.parametrize("cloud", OTHERS)
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_one_model_spec_gives_the_same_objects_in_every_cell_but_the_identity_binding(kind, cloud, protected):
    reference = cell_neutral_objects(REFERENCE, protected, kind)
    objects = cell_neutral_objects(cloud, protected, kind)
    assert reference, f"the {REFERENCE} cell declares no {kind} for the model"
    assert objects == reference
