"""A workload identity trusts exactly one service account of one cluster, and tells pods how to use it."""

import pulumi
import pytest

from lepton_infra.cell_contract import Grantee, IdentityBinding
from lepton_infra.components.azure.workload_identity import OidcIssuer, WorkloadIdentity
from lepton_infra.testing.mocks.azure import arm_id

from azure_support import IDENTITY, RESOURCE_GROUP, ROLE_ASSIGNMENT, TAGS, rejected, run_azure

FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5e1d6f1b-7c0a-4a3b-9c2d-8e7f6a5b4c3d/"


def identity_args(**overrides):
    return {
        "resource_group_name": RESOURCE_GROUP,
        "cluster": OidcIssuer(ISSUER),
        "namespace": "models",
        "service_account": "llm",
        "tags": TAGS,
        **overrides,
    }


@pytest.fixture(scope="module")
def plan():
    def program():
        identity = WorkloadIdentity("llm-identity", identity_args())
        pulumi.export("annotations", identity.binding.service_account_annotations)

    return run_azure(program)


def test_only_the_named_service_account_of_this_cluster_is_trusted(plan):
    federation = plan.one(FEDERATION).inputs
    assert federation["issuer"] == ISSUER
    assert federation["subject"] == "system:serviceaccount:models:llm"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]
    assert federation["resourceName"] == plan.one(IDENTITY).outputs["name"]
    assert federation["resourceGroupName"] == RESOURCE_GROUP
    assert len(plan.of_type(FEDERATION)) == 1


def test_the_service_account_is_annotated_with_the_identitys_client_id(plan):
    assert plan.stack_outputs["annotations"] == {"azure.workload.identity/client-id": plan.one(IDENTITY).outputs["clientId"]}


def test_the_binding_labels_pods_for_the_webhook_and_turns_adlfs_anonymity_off():
    identities = []
    run_azure(lambda: identities.append(WorkloadIdentity("llm-identity", identity_args())))
    (identity,) = identities
    binding = identity.binding
    assert isinstance(binding, IdentityBinding)
    assert binding.pod_labels == {"azure.workload.identity/use": "true"}
    # AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE come from the webhook, not from the binding.
    assert binding.env == {"AZURE_STORAGE_ANON": "false"}
    assert isinstance(identity, Grantee) and identity.cloud == "azure"


def test_the_identity_has_no_permissions_of_its_own(plan):
    assert plan.of_type(ROLE_ASSIGNMENT) == []


def test_the_identity_is_tagged_named_for_the_stack_and_a_child_of_the_component(plan):
    identity = plan.one(IDENTITY)
    assert identity.inputs["tags"] == TAGS
    assert identity.inputs["resourceName"] == "dev-llm-identity"
    component = plan.one("lepton:azure:WorkloadIdentity")
    assert {r.type for r in plan.children(component)} == {IDENTITY, FEDERATION}


def test_granted_roles_land_on_the_identity_as_its_children():
    scope = arm_id(RESOURCE_GROUP, "Microsoft.Storage", "storageAccounts/lake/blobServices/default/containers/raw")

    def program():
        identity = WorkloadIdentity("llm-identity", identity_args())
        identity.assign_role("raw-read", role="2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", scope=scope, subscription_id="sub")

    plan = run_azure(program)
    grant = plan.one(ROLE_ASSIGNMENT)
    assert grant.inputs["principalId"] == plan.one(IDENTITY).outputs["principalId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["scope"] == scope
    role = "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert grant.inputs["roleDefinitionId"] == role
    assert grant.parent == plan.one("lepton:azure:WorkloadIdentity").urn


@pytest.mark.parametrize("field,value", [("namespace", "Models"), ("service_account", "llm_server"), ("identity_name", "x")])
def test_bad_names_are_rejected_before_anything_exists(field, value):
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(**{field: value})))
    assert field in dict(error.issues)
    assert plan.resources == []


def test_unknown_args_are_rejected_naming_the_key():
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(namespce="models")))
    assert "namespce" in str(error)
    assert plan.resources == []
