"""Workload identity: a Google service account that one Kubernetes service account of one cluster may act as."""

import pulumi
import pytest

from lepton_infra.cell_contract import Grantee, IdentityBinding
from lepton_infra.components.gcp.workload_identity import SERVICE_ACCOUNT_ANNOTATION, WorkloadIdentity, WorkloadPool

from gcp_support import ACCOUNT, ACCOUNT_MEMBER, PROJECT, gcp_run, rejected

POOL = f"{PROJECT}.svc.id.goog"


def identity_args(**overrides):
    return {"cluster": WorkloadPool(POOL), "namespace": "models", "service_account": "llm", **overrides}


def plan_of(name="llm-identity", **overrides):
    identities = []

    def program():
        identity = WorkloadIdentity(name, identity_args(**overrides))
        identities.append(identity)
        pulumi.export("annotations", identity.service_account_annotations)
        pulumi.export("email", identity.email)
        pulumi.export("env", identity.binding.env)

    plan = gcp_run(program)
    return plan, identities[0]


@pytest.fixture(scope="module")
def planned():
    return plan_of()


def test_only_the_named_kubernetes_service_account_may_act_as_the_google_one(planned):
    plan, _ = planned
    (binding,) = plan.of_type(ACCOUNT_MEMBER)
    account = plan.one(ACCOUNT)
    assert binding.inputs == {
        "serviceAccountId": account.outputs["name"],
        "role": "roles/iam.workloadIdentityUser",
        "member": "serviceAccount:lepton-dev-123456.svc.id.goog[models/llm]",
    }


def test_the_service_account_annotation_names_the_google_service_account(planned):
    plan, _ = planned
    email = plan.one(ACCOUNT).outputs["email"]
    assert email == f"dev-llm-identity@{PROJECT}.iam.gserviceaccount.com" == plan.stack_outputs["email"]
    assert plan.stack_outputs["annotations"] == {"iam.gke.io/gcp-service-account": email}
    assert SERVICE_ACCOUNT_ANNOTATION == "iam.gke.io/gcp-service-account"


def test_the_binding_needs_only_the_annotation_and_names_the_project(planned):
    plan, identity = planned
    binding = identity.binding
    assert isinstance(binding, IdentityBinding)
    assert binding.pod_labels == {}
    assert plan.stack_outputs["env"] == {"GOOGLE_CLOUD_PROJECT": PROJECT}


def test_the_identity_is_a_gcp_grantee(planned):
    _, identity = planned
    assert isinstance(identity, Grantee) and identity.cloud == "gcp"


def test_the_account_and_its_binding_are_children_of_the_identity(planned):
    plan, _ = planned
    component = plan.one("lepton:gcp:WorkloadIdentity").urn
    assert {r.parent for r in (plan.one(ACCOUNT), plan.one(ACCOUNT_MEMBER))} == {component}


def test_long_names_still_give_a_valid_account_id():
    plan, _ = plan_of(name="prod-gcp-euw4-" + "very-long-model-name-" * 3 + "identity")
    account_id = plan.one(ACCOUNT).inputs["accountId"]
    assert 6 <= len(account_id) <= 30 and account_id[0].isalpha() and account_id[-1].isalnum()


def test_an_explicit_account_id_is_used_as_given():
    plan, _ = plan_of(account_id="llm-reader")
    assert plan.one(ACCOUNT).inputs["accountId"] == "llm-reader"


@pytest.mark.parametrize(
    "field,value",
    [("namespace", "Models"), ("service_account", "llm_server"), ("account_id", "abc"), ("account_id", "1-reader")],
)
def test_bad_names_are_rejected_before_anything_exists(field, value):
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(**{field: value})))
    assert field in dict(error.issues)
    assert plan.resources == []


def test_a_loose_workload_pool_string_is_refused_naming_the_cluster_field():
    """The identity takes the cluster (a GkeCluster, or WorkloadPool for one made elsewhere), as on AWS and Azure."""
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(cluster=POOL)))
    assert "cluster" in dict(error.issues)
    assert plan.resources == []
