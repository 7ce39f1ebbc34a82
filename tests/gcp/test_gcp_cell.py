"""The GCP cell foundation: one provider for the cell, every component under it, and a cloud-neutral contract."""

import pulumi
import pytest

from lepton_infra.cell_contract import CellFoundation, IdentityBinding
from lepton_infra.components.gcp.cell import build_foundation
from lepton_infra.composition import Cell as ComposedCell
from lepton_infra.spec import PlatformSpec, SpecError

from gcp_support import (
    ACCOUNT,
    BUCKET,
    BUCKET_MEMBER,
    CLUSTER,
    NODE_POOL,
    PROJECT,
    REPOSITORY,
    REPOSITORY_MEMBER,
    gcp_run,
    rejected,
)

REGION = "us-central1"


def spec(protected=False, **cell):
    return PlatformSpec.model_validate(
        {
            "environment": "dev",
            "protected": protected,
            "tags": {"team": "ml"},
            "cells": [
                {
                    "name": "gcp-usc1",
                    "cloud": "gcp",
                    "region": REGION,
                    "cluster": {"public_access_cidrs": ["203.0.113.0/24"], "node_zones": [f"{REGION}-a", f"{REGION}-c"]},
                    "gpu_pools": [{"name": "l4", "accelerator": "l4", "capacity": "spot", "max_size": 2}],
                    **cell,
                }
            ],
            "models": [{"name": "classifier", "accelerator": "l4", "artifact": "classifier/v1/model.pt"}],
        }
    )


class Cell(pulumi.ComponentResource):
    def __init__(self, name, platform, cell):
        super().__init__("test:index:Cell", name, None, None)
        self.foundation = build_foundation(self, name, platform, cell)


def run_cell(platform, bind=(("models", "classifier"),), config=None):
    found = {}

    def program():
        cell = Cell("dev-gcp-usc1", platform, platform.cells[0])
        foundation = found["foundation"] = cell.foundation
        found["bindings"] = [foundation.bind_model_reader(ns, sa) for ns, sa in bind]
        pulumi.export("models_uri", foundation.models_uri)
        pulumi.export("cluster_name", foundation.cluster_name)
        pulumi.export("repository_url", foundation.registry.repository_url)
        pulumi.export("credentials", foundation.registry.credentials)
        pulumi.export("annotations", [b.service_account_annotations for b in found["bindings"]])

    plan = gcp_run(program, config={"gcp:region": "us-east1", **(config or {})})
    return plan, found["foundation"], found["bindings"]


@pytest.fixture(scope="module")
def cell():
    return run_cell(spec())


def test_the_foundation_fills_the_contract_for_gcp(cell):
    plan, foundation, _ = cell
    assert isinstance(foundation, CellFoundation)
    assert (foundation.cloud, foundation.kubernetes_version) == ("gcp", "1.35")
    assert foundation.kubernetes_provider is not None
    assert plan.stack_outputs["cluster_name"] == plan.one(CLUSTER).outputs["name"] == "dev-gcp-usc1"


def test_capabilities_say_internal_gke_load_balancers_gke_installed_drivers_and_the_gke_cni_platform(cell):
    _, foundation, _ = cell
    capabilities = foundation.capabilities
    assert capabilities.internal_load_balancer_annotations == {"networking.gke.io/load-balancer-type": "Internal"}
    assert capabilities.gpu_driver_preinstalled is True
    assert capabilities.istio_cni_platform == "gke"


def test_one_provider_in_the_cells_region_and_the_configured_project_carries_every_resource(cell):
    plan, _, _ = cell
    provider = plan.one("pulumi:providers:gcp")
    assert (provider.inputs["project"], provider.inputs["region"]) == (PROJECT, REGION)
    gcp_resources = [r for r in plan.resources if r.custom and r.type.startswith("gcp:")]
    assert gcp_resources and all(r.provider.startswith(provider.urn + "::") for r in gcp_resources)
    assert plan.one(CLUSTER).inputs["location"] == REGION


def test_models_live_in_the_models_zone_bucket_as_a_gcsfs_uri(cell):
    plan, _, _ = cell
    models = plan.one(BUCKET, "dev-gcp-usc1-lake-models").outputs["name"]
    assert plan.stack_outputs["models_uri"] == f"gs://{models}"
    assert models == f"dev-gcp-usc1-models-{PROJECT}"


def test_a_model_reader_may_read_the_models_zone_and_nothing_else(cell):
    plan, _, (binding,) = cell
    account = plan.one(ACCOUNT, "dev-gcp-usc1-classifier-identity-account")
    member = f"serviceAccount:{account.outputs['email']}"
    grants = [g for g in plan.of_type(BUCKET_MEMBER) if g.inputs["member"] == member]
    assert [(g.inputs["bucket"], g.inputs["role"]) for g in grants] == [
        (plan.one(BUCKET, "dev-gcp-usc1-lake-models").outputs["name"], "roles/storage.objectViewer")
    ]
    workload = plan.one("gcp:serviceaccount/iAMMember:IAMMember").inputs
    assert workload["member"] == f"serviceAccount:{PROJECT}.svc.id.goog[models/classifier]"
    assert isinstance(binding, IdentityBinding)
    assert plan.stack_outputs["annotations"] == [{"iam.gke.io/gcp-service-account": account.outputs["email"]}]


def test_nodes_may_pull_from_the_cells_repository(cell):
    plan, _, _ = cell
    grant = plan.one(REPOSITORY_MEMBER).inputs
    nodes = plan.one(ACCOUNT, "dev-gcp-usc1-cluster-nodes").outputs["email"]
    assert (grant["member"], grant["role"]) == (f"serviceAccount:{nodes}", "roles/artifactregistry.reader")
    assert grant["repository"] == plan.one(REPOSITORY).outputs["name"]


def test_the_registry_gives_its_url_and_token_credentials(cell):
    plan, _, _ = cell
    assert plan.stack_outputs["repository_url"] == f"{REGION}-docker.pkg.dev/{PROJECT}/dev-gcp-usc1-serving"
    assert plan.stack_outputs["credentials"]["username"] == "oauth2accesstoken"
    assert "credentials" in plan.secret_outputs


def test_gpu_pools_follow_the_cell_zones_and_driver(cell):
    plan, foundation, _ = cell
    pool = plan.one(NODE_POOL, "dev-gcp-usc1-l4").inputs
    assert pool["nodeLocations"] == [f"{REGION}-a", f"{REGION}-c"]
    assert pool["nodeConfig"]["guestAccelerators"][0]["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    assert pool["cluster"] == plan.one(CLUSTER).outputs["id"]
    # The in-cluster layer waits for the cluster (with its system pool) and every GPU pool; GKE autoscales them.
    assert [type(r).__name__ for r in foundation.ready] == ["GkeCluster", "GpuNodePool"]


def test_the_platforms_tags_become_gcp_labels(cell):
    plan, _, _ = cell
    labels = plan.one(CLUSTER).inputs["resourceLabels"]
    assert labels == {
        "lepton-ai_environment": "dev",
        "lepton-ai_cell": "gcp-usc1",
        "lepton-ai_managed-by": "lepton-infra",
        "team": "ml",
    }
    assert plan.one(BUCKET, "dev-gcp-usc1-lake-models").inputs["labels"] == labels


def test_a_protected_platform_gets_a_private_deletion_protected_cluster_and_protected_data():
    plan, _, _ = run_cell(spec(protected=True, cluster={}))
    cluster = plan.one(CLUSTER)
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster.inputs["deletionProtection"] is True
    data = [r for t in (BUCKET, REPOSITORY, CLUSTER, "gcp:kms/cryptoKey:CryptoKey") for r in plan.of_type(t)]
    assert all(r.protect and r.retain_on_delete for r in data)


def test_the_latest_driver_reaches_every_gpu_pool():
    plan, _, _ = run_cell(spec(gpu_driver_version="LATEST"), bind=())
    (accelerator,) = plan.one(NODE_POOL, "dev-gcp-usc1-l4").inputs["nodeConfig"]["guestAccelerators"]
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}


def test_without_a_gcp_project_nothing_is_created():
    error, plan = rejected(lambda: Cell("dev-gcp-usc1", spec(), spec().cells[0]), config={"gcp:project": ""})
    assert "pulumi config set gcp:project" in dict(error.issues)["gcp:project"]
    assert [r.type for r in plan.resources] == ["test:index:Cell"]


# --------------------------------------------------------------------------------------------------- the cell's spec
def cell_issues(protected=False, **cell) -> dict[str, str]:
    with pytest.raises(SpecError) as error:
        spec(protected, **cell)
    return dict(error.value.issues)


def test_a_gcp_region_is_spelt_the_gcp_way():
    assert "us-central1" in cell_issues(region="us-east-1")["cells[0].region"]
    cluster = {"public_access_cidrs": ["203.0.113.0/24"]}
    assert spec(region="northamerica-northeast2", cluster=cluster).cells[0].region == "northamerica-northeast2"


def test_node_zones_must_be_zones_of_the_cells_region():
    issues = cell_issues(cluster={"public_access_cidrs": ["203.0.113.0/24"], "node_zones": ["europe-west4-a"]})
    assert "not a zone of us-central1" in issues["cells[0].cluster.node_zones[0]"]


def test_a_public_endpoint_needs_authorized_networks_unless_the_platform_is_protected():
    assert "0.0.0.0/0" in cell_issues(cluster={})["cells[0].cluster.public_access_cidrs"]
    assert spec(protected=True, cluster={}).cells[0].cluster.endpoint_is_private(True) is True


def test_an_accelerator_gcp_lacks_is_refused_naming_where_it_is():
    issues = cell_issues(gpu_pools=[{"name": "a10g", "accelerator": "a10g"}])
    assert "not offered on gcp" in issues["cells[0].gpu_pools[0].accelerator"]


def test_serving_models_needs_the_models_zone():
    issues = cell_issues(data_lake={"zones": ["raw"]})
    assert "'models'" in issues["cells[0].data_lake.zones"]


def test_the_cells_lake_backs_up_every_zone_to_the_backup_region():
    plan, _, _ = run_cell(spec(protected=True, data_lake={"backup": {"region": "us-west1"}}), bind=())
    backups = [b for b in plan.of_type(BUCKET) if b.name.endswith("-backup")]
    assert {b.inputs["location"] for b in backups} == {"US-WEST1"} and len(backups) == 4
    assert len(plan.of_type("gcp:storage/transferJob:TransferJob")) == 4
    assert all(b.protect for b in backups)


def test_a_gcs_lakes_backup_region_must_differ_from_the_cells():
    assert "must differ" in cell_issues(data_lake={"backup": {"region": "us-central1"}})["cells[0].data_lake.backup.region"]


def test_gcp_labels_from_tags_are_valid_labels():
    from pydantic import TypeAdapter

    from lepton_infra.components.gcp import labels_from_tags
    from lepton_infra.spec.gcp import GcpLabels

    labels = labels_from_tags({"lepton.ai/cell": "GCP_usc1", "1st": "x", "Team Name": "ML.ops", "long": "v" * 70})
    assert labels == {"lepton-ai_cell": "gcp_usc1", "l_1st": "x", "team_name": "ml_ops", "long": "v" * 63}
    assert TypeAdapter(GcpLabels).validate_python(labels) == labels


# --------------------------------------------------------------------------------------------------- the whole cell
@pytest.fixture(scope="module")
def composed():
    """The composition's Cell on a GCP cell: the in-cluster layer reads only the foundation's contract."""
    return gcp_run(lambda: ComposedCell("dev-gcp-usc1", spec()))


def test_the_serving_image_is_pushed_to_artifact_registry_with_the_token(composed):
    image = composed.one("docker-build:index:Image").inputs
    (login,) = image["registries"]
    assert login["address"] == f"{REGION}-docker.pkg.dev"
    assert login["username"] == "oauth2accesstoken"
    assert image["tags"][0].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/dev-gcp-usc1-serving:0.1.0-")


def test_istio_cni_gets_the_gke_platform_and_the_gateway_an_internal_gke_load_balancer(composed):
    releases = {r.inputs["name"]: r.inputs for r in composed.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases["istio-cni"]["values"]["global"]["platform"] == "gke"
    gateway = releases["istio-ingressgateway"]["values"]["service"]["annotations"]
    assert gateway == {"networking.gke.io/load-balancer-type": "Internal"}


def test_the_models_service_account_acts_as_the_model_readers_google_service_account(composed):
    email = composed.one(ACCOUNT, "dev-gcp-usc1-classifier-identity-account").outputs["email"]
    (account,) = [r for r in composed.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["name"] == "classifier"]
    assert account.inputs["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
    (deployment,) = composed.of_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GOOGLE_CLOUD_PROJECT"] == PROJECT
    assert any(str(v).startswith(f"gs://dev-gcp-usc1-models-{PROJECT}") for v in env.values())
