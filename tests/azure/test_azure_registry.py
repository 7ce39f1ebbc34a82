"""The registry: Premium ACR, Entra-only, untagged manifests purged, and push credentials minted from the deploying
identity's Entra token, never from an admin user or a stored secret."""

import io
import json
import urllib.parse
import urllib.request

import pulumi
import pytest

from lepton_infra.components.azure import _roles
from lepton_infra.components.azure.registry import (
    PUSH_CREDENTIALS,
    REFRESH_TOKEN_USER,
    ContainerRegistry,
    exchange_refresh_token,
)
from lepton_infra.testing.mocks.azure import DEPLOYER_OBJECT_ID, TENANT_ID, arm_id, jwt_claims

from azure_support import IDENTITY, RESOURCE_GROUP, ROLE_ASSIGNMENT, TAGS, assignments_of, rejected, role_definition, run_azure

REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
KUBELET = "9be57669-26c2-4a38-97c1-c21700b51302"


def registry_args(protected=False, **spec):
    return {"spec": spec, "resource_group_name": RESOURCE_GROUP, "name_prefix": "dev-az-weu", "protected": protected, "tags": TAGS}


def plan_of(protected=False, **spec):
    def program():
        registry = ContainerRegistry("registry", registry_args(protected, **spec))
        registry.grant_pull("kubelet", KUBELET)
        pulumi.export("push", registry.credentials)
        pulumi.export("url", registry.repository_url)
        pulumi.export("registry_id", registry.registry_id)

    return run_azure(program)


@pytest.fixture(scope="module")
def plan():
    return plan_of(repository="llm-serving")


def test_a_premium_registry_with_entra_only_authentication(plan):
    registry = plan.one(REGISTRY).inputs
    assert registry["sku"] == {"name": "Premium"}
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False
    assert registry["policies"]["azureADAuthenticationAsArmPolicy"] == {"status": "disabled"}
    assert (registry["publicNetworkAccess"], registry["networkRuleBypassOptions"]) == ("Enabled", "AzureServices")
    assert registry["tags"] == TAGS


def test_untagged_manifests_are_purged_after_two_weeks(plan):
    assert plan.one(REGISTRY).inputs["policies"]["retentionPolicy"] == {"status": "enabled", "days": 14}


def test_the_registry_name_is_global_alphanumeric_and_the_repository_is_under_it(plan):
    registry = plan.one(REGISTRY)
    assert registry.inputs["registryName"].isalnum() and 5 <= len(registry.inputs["registryName"]) <= 50
    assert registry.inputs["registryName"].startswith("devazweuregistry")
    assert plan.stack_outputs["url"] == f"{registry.outputs['loginServer']}/llm-serving"


def test_push_credentials_are_an_acr_refresh_token_for_the_deployer_on_this_registry(plan):
    push = plan.stack_outputs["push"]
    login_server = plan.one(REGISTRY).outputs["loginServer"]
    assert push["server"] == login_server
    assert push["username"] == REFRESH_TOKEN_USER == "00000000-0000-0000-0000-000000000000"
    claims = jwt_claims(push["password"])
    assert (claims["aud"], claims["tenant"], claims["sub"]) == (login_server, TENANT_ID, DEPLOYER_OBJECT_ID)
    assert "push" in plan.secret_outputs
    assert PUSH_CREDENTIALS == "entra-token-exchange"


def test_the_entra_token_is_asked_for_the_registry_audience_not_arm(plan):
    (call,) = [args for token, args in plan.invokes if token == "azure-native:authorization:getClientToken"]
    assert call == {"endpoint": "https://containerregistry.azure.net"}
    assert not any(token == "azure-native:containerregistry:listRegistryCredentials" for token, _ in plan.invokes)


def test_the_exchange_posts_the_entra_token_to_the_registrys_oauth2_exchange(monkeypatch):
    sent = []

    def urlopen(request, timeout):
        sent.append((request, timeout))
        return io.BytesIO(json.dumps({"refresh_token": "acr-refresh"}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    assert exchange_refresh_token("devazweu.azurecr.io", TENANT_ID, "entra-token") == "acr-refresh"
    ((request, timeout),) = sent
    assert (request.full_url, request.get_method(), timeout) == ("https://devazweu.azurecr.io/oauth2/exchange", "POST", 30)
    assert request.get_header("Content-type") == "application/x-www-form-urlencoded"
    assert dict(urllib.parse.parse_qsl(request.data.decode())) == {
        "grant_type": "access_token",
        "service": "devazweu.azurecr.io",
        "tenant": TENANT_ID,
        "access_token": "entra-token",
    }


def test_grant_pull_is_acr_pull_on_this_registry_only(plan):
    assert assignments_of(plan, KUBELET) == [{"role": role_definition(_roles.ACR_PULL), "scope": plan.stack_outputs["registry_id"]}]
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == KUBELET]
    assert grant.parent == plan.one("lepton:azure:ContainerRegistry").urn


def test_images_are_encrypted_with_a_customer_managed_key_through_a_user_assigned_identity(plan):
    registry = plan.one(REGISTRY)
    identity = plan.one(IDENTITY, "registry-encryption")
    identity_id = arm_id(RESOURCE_GROUP, "Microsoft.ManagedIdentity", f"userAssignedIdentities/{identity.inputs['resourceName']}")
    vault, key = plan.one(VAULT), plan.one(KEY)
    assert registry.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}}
    assert registry.inputs["encryption"] == {
        "status": "enabled",
        "keyVaultProperties": {"keyIdentifier": key.outputs["keyUri"], "identity": identity.outputs["clientId"]},
    }
    key_id = arm_id(RESOURCE_GROUP, "Microsoft.KeyVault", f"vaults/{key.inputs['vaultName']}/keys/{key.outputs['name']}")
    assert assignments_of(plan, identity.outputs["principalId"]) == [
        {"role": role_definition(_roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER), "scope": key_id}
    ]
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == identity.outputs["principalId"]]
    assert grant.urn in registry.dependencies, "ACR reads the key when it is created"
    properties = vault.inputs["properties"]
    assert (properties["enableRbacAuthorization"], properties["enablePurgeProtection"]) == (True, True)
    # Reachable at creation (ACR cannot pass a firewalled vault then); RBAC on the key alone decides who uses it.
    assert properties["networkAcls"] == {"defaultAction": "Allow", "bypass": "AzureServices"}
    assert vault.inputs["vaultName"].startswith("dev-az-weu-acr-")


def test_the_key_and_its_identity_are_kept_with_a_protected_registry():
    protected = plan_of(protected=True)
    for kept in (protected.one(VAULT), protected.one(KEY), protected.one(IDENTITY, "registry-encryption")):
        assert kept.protect and kept.retain_on_delete, kept.urn


def test_the_named_opt_out_keeps_microsoft_managed_keys_and_creates_no_key():
    plan = plan_of(customer_managed_key=False)
    registry = plan.one(REGISTRY).inputs
    assert "encryption" not in registry and "identity" not in registry
    assert not plan.of_type(VAULT) and not plan.of_type(KEY) and not plan.of_type(IDENTITY)


def test_the_registry_is_protected_and_kept_only_when_protected(plan):
    assert not (plan.one(REGISTRY).protect or plan.one(REGISTRY).retain_on_delete)
    protected = plan_of(protected=True).one(REGISTRY)
    assert protected.protect and protected.retain_on_delete


@pytest.mark.parametrize("spec,field", [({"repository": "Serving"}, "spec.repository"), ({"image_tag": "-bad"}, "spec.image_tag")])
def test_bad_registry_specs_name_the_field_and_register_nothing(spec, field):
    error, plan = rejected(lambda: ContainerRegistry("registry", registry_args(**spec)))
    assert field in dict(error.issues)
    assert plan.resources == []
