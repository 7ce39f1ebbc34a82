"""The Azure cell's audit logs: AKS's kube-audit, kube-audit-admin and guard, and the lake's blob reads, writes and
deletes, in a Log Analytics workspace that keeps them per environment (docs/design.md, "Audit")."""

import pytest

from lepton_infra.components.azure.audit_logs import AuditLogs
from lepton_infra.testing.mocks.azure import arm_id

from azure_support import CLUSTER_ID, RESOURCE_GROUP, TAGS, WORKSPACE_ID, rejected, run_azure

WORKSPACE = "azure-native:operationalinsights:Workspace"
SETTING = "azure-native:monitor:DiagnosticSetting"
ACCOUNT_ID = arm_id(RESOURCE_GROUP, "Microsoft.Storage", "storageAccounts/devazweulake0a1b2c")


def args(**overrides):
    base = {
        "resource_group_name": RESOURCE_GROUP,
        "workspace_name": "dev-az-weu-audit",
        "retention_days": 30,
        "tags": TAGS,
    }
    return {**base, **overrides}


def audit_cluster_and_lake(**overrides) -> AuditLogs:
    audit = AuditLogs("audit", args(**overrides))
    audit.audit_cluster(CLUSTER_ID)
    audit.audit_lake(ACCOUNT_ID)
    return audit


def plan_for(**overrides):
    return run_azure(lambda: audit_cluster_and_lake(**overrides))


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_the_cluster_sends_its_audit_and_authorization_logs_to_the_workspace(plan):
    setting = plan.one(SETTING, "audit-cluster")
    assert setting.inputs["resourceUri"] == CLUSTER_ID
    assert setting.inputs["workspaceId"] == WORKSPACE_ID
    assert setting.inputs["logs"] == [
        {"category": "kube-audit", "enabled": True},
        {"category": "kube-audit-admin", "enabled": True},
        {"category": "guard", "enabled": True},
    ]
    assert setting.inputs["logAnalyticsDestinationType"] == "Dedicated"


def test_the_lake_blob_service_sends_reads_writes_and_deletes_to_the_same_workspace(plan):
    setting = plan.one(SETTING, "audit-lake")
    assert setting.inputs["resourceUri"] == f"{ACCOUNT_ID}/blobServices/default"
    assert setting.inputs["workspaceId"] == WORKSPACE_ID
    assert setting.inputs["logs"] == [
        {"category": "StorageRead", "enabled": True},
        {"category": "StorageWrite", "enabled": True},
        {"category": "StorageDelete", "enabled": True},
    ]
    assert setting.inputs["name"] == "lepton-audit"


def test_the_workspace_keeps_logs_per_environment_and_takes_entra_id_only(plan):
    inputs = plan.one(WORKSPACE).inputs
    assert inputs["workspaceName"] == "dev-az-weu-audit" and inputs["resourceGroupName"] == RESOURCE_GROUP
    assert inputs["sku"] == {"name": "PerGB2018"} and inputs["retentionInDays"] == 30
    assert inputs["features"] == {"disableLocalAuth": True, "enableLogAccessUsingOnlyResourcePermissions": True}
    assert plan_for(retention_days=365).one(WORKSPACE).inputs["retentionInDays"] == 365


def test_the_workspace_is_protected_and_retained_only_when_protected(plan):
    assert not (plan.one(WORKSPACE).protect or plan.one(WORKSPACE).retain_on_delete)
    workspace = plan_for(protected=True).one(WORKSPACE)
    assert workspace.protect and workspace.retain_on_delete


@pytest.mark.parametrize(
    "overrides, field",
    [({"retention_days": 731}, "retention_days"), ({"retention_days": 7}, "retention_days"), ({"workspace_name": "a_b"}, "workspace_name")],
)
def test_bad_args_name_the_field_and_nothing_is_created(overrides, field):
    error, plan = rejected(lambda: AuditLogs("audit", args(**overrides)))
    assert [path for path, _ in error.issues] == [field]
    assert plan.resources == []
