"""The ADLS Gen2 lake: Entra-only, TLS 1.2, firewalled, under a customer-managed key, recoverable, tiered, and
granted per zone."""

import re

import pulumi
import pytest

from lepton_infra.components.azure import _roles
from lepton_infra.components.azure.data_lake import DataLake
from lepton_infra.components.azure.workload_identity import OidcIssuer, WorkloadIdentity
from lepton_infra.spec import SpecError
from lepton_infra.testing.mocks.azure import TENANT_ID, arm_id

from azure_support import IDENTITY, RESOURCE_GROUP, ROLE_ASSIGNMENT, SUBNET_ID, TAGS, assignments_of, rejected, role_definition, run_azure

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
LIFECYCLE = "azure-native:storage:ManagementPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
ZONES = ["raw", "curated", "models"]
LIFECYCLE_SPEC = {"infrequent_access_after_days": 45, "archive_after_days": 120}
ISSUER = "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5e1d6f1b-7c0a-4a3b-9c2d-8e7f6a5b4c3d/"


def lake_args(protected=False, **spec):
    return {
        "spec": {"zones": ZONES, "lifecycle": LIFECYCLE_SPEC, "soft_delete_retention_days": 14, **spec},
        "resource_group_name": RESOURCE_GROUP,
        "name_prefix": "dev-az-weu",
        "allowed_subnet_ids": [SUBNET_ID],
        "protected": protected,
        "tags": TAGS,
    }


def identity(name):
    return WorkloadIdentity(
        f"{name}-identity",
        {"resource_group_name": RESOURCE_GROUP, "cluster": OidcIssuer(ISSUER), "namespace": "models", "service_account": name},
    )


@pytest.fixture(scope="module")
def plan():
    """An unprotected lake; a reader of models and a writer of raw."""

    def program():
        lake = DataLake("lake", lake_args(allowed_ip_ranges=["198.51.100.0/24", "203.0.113.7/32"]))
        lake.grant_read(identity("reader"), "models")
        lake.grant_write(identity("writer"), "raw")
        pulumi.export("uris", lake.uris)
        pulumi.export("filesystems", lake.filesystems)
        pulumi.export("filesystem_ids", lake.filesystem_ids)
        pulumi.export("dfs", lake.dfs_endpoint)

    return run_azure(program)


def account_of(plan):
    return plan.one(ACCOUNT).inputs


def principal(plan, name):
    return plan.one(IDENTITY, name).outputs["principalId"]


# --------------------------------------------------------------------------------------------------- the account
def test_an_adls_gen2_account_storagev2_with_hierarchical_namespace(plan):
    account = account_of(plan)
    assert (account["kind"], account["isHnsEnabled"]) == ("StorageV2", True)
    assert account["sku"] == {"name": "Standard_ZRS"}
    assert account["accessTier"] == "Hot"
    assert account["tags"] == TAGS


def test_entra_id_only_over_tls_1_2_with_no_public_blobs(plan):
    account = account_of(plan)
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["allowBlobPublicAccess"] is False
    assert account["allowCrossTenantReplication"] is False
    assert account["allowedCopyScope"] == "AAD"


def test_the_firewall_denies_all_but_the_node_subnet_the_given_ranges_and_trusted_services(plan):
    assert account_of(plan)["networkRuleSet"] == {
        "defaultAction": "Deny",
        "bypass": "AzureServices",
        "virtualNetworkRules": [{"virtualNetworkResourceId": SUBNET_ID, "action": "Allow"}],
        "ipRules": [{"iPAddressOrRange": "198.51.100.0/24", "action": "Allow"}, {"iPAddressOrRange": "203.0.113.7", "action": "Allow"}],
    }


def test_data_is_encrypted_with_a_customer_managed_key_through_a_user_assigned_identity(plan):
    account = account_of(plan)
    encryption_identity = plan.one(IDENTITY, "lake-encryption")
    identity_path = f"userAssignedIdentities/{encryption_identity.inputs['resourceName']}"
    identity_id = arm_id(RESOURCE_GROUP, "Microsoft.ManagedIdentity", identity_path)
    vault, key = plan.one(VAULT), plan.one(KEY)
    assert account["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert account["encryption"] == {
        "keySource": "Microsoft.Keyvault",
        "keyVaultProperties": {"keyName": key.outputs["name"], "keyVaultUri": vault.outputs["properties"]["vaultUri"]},
        "encryptionIdentity": {"encryptionUserAssignedIdentity": identity_id},
        "requireInfrastructureEncryption": True,
        "services": {"blob": {"enabled": True, "keyType": "Account"}, "file": {"enabled": True, "keyType": "Account"}},
    }
    assert "keyVersion" not in account["encryption"]["keyVaultProperties"], "versionless: follows key rotation"


def test_the_vault_is_rbac_only_purge_protected_soft_deleting_and_firewalled(plan):
    properties = plan.one(VAULT).inputs["properties"]
    assert properties["tenantId"] == TENANT_ID
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert (properties["enableSoftDelete"], properties["softDeleteRetentionInDays"]) == (True, 90)
    assert properties["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert "accessPolicies" not in properties


def test_the_key_is_rsa_3072_for_wrapping_only_and_rotates_yearly(plan):
    properties = plan.one(KEY).inputs["properties"]
    assert (properties["kty"], properties["keySize"]) == ("RSA", 3072)
    assert properties["keyOps"] == ["wrapKey", "unwrapKey"]
    assert properties["rotationPolicy"] == {
        "attributes": {"expiryTime": "P2Y"},
        "lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P1Y"}}],
    }
    assert plan.one(KEY).inputs["vaultName"] == plan.one(VAULT).outputs["name"]


def test_the_encryption_identity_may_use_the_key_only_and_before_the_account_exists(plan):
    key = plan.one(KEY)
    key_id = arm_id(RESOURCE_GROUP, "Microsoft.KeyVault", f"vaults/{key.inputs['vaultName']}/keys/{key.outputs['name']}")
    assert assignments_of(plan, principal(plan, "lake-encryption")) == [
        {"role": role_definition(_roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER), "scope": key_id}
    ]
    (grant,) = [r for r in plan.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == principal(plan, "lake-encryption")]
    assert grant.urn in plan.one(ACCOUNT).dependencies


def test_global_names_are_valid_stable_and_subscription_scoped(plan):
    account_name, vault_name = account_of(plan)["accountName"], plan.one(VAULT).inputs["vaultName"]
    assert re.fullmatch(r"[a-z0-9]{3,24}", account_name) and account_name.startswith("devazweulake")
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", vault_name) and vault_name.startswith("dev-az-weu-lake-")
    again = run_azure(lambda: DataLake("lake", lake_args()))
    assert again.one(ACCOUNT).inputs["accountName"] == account_name


def test_long_prefixes_still_give_valid_names():
    long = run_azure(lambda: DataLake("lake", {**lake_args(), "name_prefix": "production-" + "x" * 60}))
    assert len(long.one(ACCOUNT).inputs["accountName"]) <= 24
    assert len(long.one(VAULT).inputs["vaultName"]) <= 24


# --------------------------------------------------------------------------------------------------- recovery, tiers
def test_deleted_blobs_and_filesystems_are_kept_by_soft_delete_since_adls_has_no_versioning(plan):
    service = plan.one(BLOB_SERVICE).inputs
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 14}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 14}
    assert service["isVersioningEnabled"] is False
    assert service["accountName"] == plan.one(ACCOUNT).outputs["name"]


def test_blobs_tier_to_cool_then_to_the_online_cold_tier_from_the_lifecycle_spec(plan):
    policy = plan.one(LIFECYCLE).inputs
    assert policy["managementPolicyName"] == "default"
    assert policy["policy"] == {
        "rules": [
            {
                "name": "tiering",
                "enabled": True,
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blobTypes": ["blockBlob"]},
                    "actions": {
                        "baseBlob": {
                            "tierToCool": {"daysAfterModificationGreaterThan": 45},
                            "tierToCold": {"daysAfterModificationGreaterThan": 120},
                        }
                    },
                },
            }
        ]
    }


# --------------------------------------------------------------------------------------------------- filesystems
def test_one_private_filesystem_per_zone(plan):
    containers = {c.inputs["containerName"]: c.inputs for c in plan.of_type(CONTAINER)}
    assert sorted(containers) == sorted(ZONES)
    assert all(c["publicAccess"] == "None" for c in containers.values())
    assert all(c["accountName"] == plan.one(ACCOUNT).outputs["name"] for c in containers.values())
    assert plan.stack_outputs["filesystems"] == {z: z for z in ZONES}


def test_zones_are_addressed_as_abfs_uris(plan):
    account = plan.one(ACCOUNT).outputs["name"]
    assert plan.stack_outputs["uris"]["models"] == f"abfs://models@{account}.dfs.core.windows.net/"
    assert plan.stack_outputs["dfs"] == f"https://{account}.dfs.core.windows.net/"


# --------------------------------------------------------------------------------------------------- grants
def test_grant_read_is_blob_data_reader_on_that_zones_filesystem_only(plan):
    assert assignments_of(plan, principal(plan, "reader-identity")) == [
        {"role": role_definition(_roles.STORAGE_BLOB_DATA_READER), "scope": plan.stack_outputs["filesystem_ids"]["models"]}
    ]


def test_grant_write_is_blob_data_contributor_on_that_zones_filesystem_only(plan):
    assert assignments_of(plan, principal(plan, "writer-identity")) == [
        {"role": role_definition(_roles.STORAGE_BLOB_DATA_CONTRIBUTOR), "scope": plan.stack_outputs["filesystem_ids"]["raw"]}
    ]
    assert plan.stack_outputs["filesystem_ids"]["raw"].endswith("/blobServices/default/containers/raw")


def test_granting_an_unknown_zone_names_the_lakes_zones():
    caught = []

    def program():
        lake = DataLake("lake", lake_args())
        try:
            lake.grant_read(identity("reader"), "gold")
        except SpecError as exc:
            caught.append(exc)

    run_azure(program)
    (error,) = caught
    assert "raw, curated, models" in dict(error.issues)["zone"]


def test_an_identity_of_another_cloud_is_refused():
    class AwsRole:
        cloud = "aws"

    caught = []

    def program():
        try:
            DataLake("lake", lake_args()).grant_read(AwsRole(), "models")
        except SpecError as exc:
            caught.append(exc)

    run_azure(program)
    (error,) = caught
    assert "'aws'" in dict(error.issues)["identity"]


# --------------------------------------------------------------------------------------------------- protection, args
DATA = {ACCOUNT, CONTAINER, VAULT, KEY, IDENTITY}


def test_protected_lakes_protect_and_keep_the_account_filesystems_key_vault_and_encryption_identity():
    plan = run_azure(lambda: DataLake("lake", lake_args(protected=True)))
    kept = [r for r in plan.resources if r.type in DATA]
    assert len(kept) == 3 + 4
    assert all(r.protect and r.retain_on_delete for r in kept)


def test_unprotected_lakes_protect_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


@pytest.mark.parametrize(
    "spec,field",
    [
        ({"zones": ["raw", "raw"]}, "spec.zones"),
        ({"zones": ["ml"]}, "spec.zones[0]"),
        ({"redundancy": "Premium_LRS"}, "spec.redundancy"),
        ({"soft_delete_retention_days": 0}, "spec.soft_delete_retention_days"),
        ({"allowed_ip_ranges": ["10.0.0.300/24"]}, "spec.allowed_ip_ranges[0]"),
        ({"lifecycle": {"infrequent_access_after_days": 60, "archive_after_days": 70}}, "spec.lifecycle.archive_after_days"),
    ],
)
def test_bad_lake_specs_name_the_field_and_register_nothing(spec, field):
    error, plan = rejected(lambda: DataLake("lake", lake_args(**spec)))
    assert field in dict(error.issues)
    assert plan.resources == []
