"""The Azure cell's audit logs: AKS's kube-audit, kube-audit-admin and guard, and the lake's blob reads, writes and
deletes, in a Log Analytics workspace that keeps them per environment (docs/design.md, "Audit")."""

import pulumi
import pulumi_azure_native.monitor as monitor
import pytest

from lepton_infra.components.azure._diagnostic_setting import DiagnosticSetting
from lepton_infra.components.azure.audit_logs import AuditLogs
from lepton_infra.testing.mocks.azure import arm_id

from azure_support import RESOURCE_GROUP, TAGS, rejected, run_azure

WORKSPACE = "azure-native:operationalinsights:Workspace"
SETTING = "azure-native:monitor:DiagnosticSetting"
CLUSTER_ID = arm_id(RESOURCE_GROUP, "Microsoft.ContainerService", "managedClusters/dev-az-weu")
WORKSPACE_ID = arm_id(RESOURCE_GROUP, "Microsoft.OperationalInsights", "workspaces/dev-az-weu-audit")
ACCOUNT_ID = arm_id(RESOURCE_GROUP, "Microsoft.Storage", "storageAccounts/devazweulake0a1b2c")


def args(**overrides):
    base = {
        "resource_group_name": RESOURCE_GROUP,
        "workspace_name": "dev-az-weu-audit",
        "retention_days": 30,
        "cluster_id": CLUSTER_ID,
        "storage_account_id": ACCOUNT_ID,
        "tags": TAGS,
    }
    return {**base, **overrides}


def plan_for(**overrides):
    return run_azure(lambda: AuditLogs("audit", args(**overrides)))


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


def test_the_diagnostic_setting_registers_as_the_sdks_own_class_does():
    """components/azure/_diagnostic_setting.py spares the cold import of pulumi_azure_native.monitor; it must register
    what monitor.DiagnosticSetting would: type, inputs under their API names, aliases."""
    settings = {
        "name": "lepton-audit",
        "resource_uri": CLUSTER_ID,
        "workspace_id": WORKSPACE_ID,
        "logs": [{"category": "kube-audit", "enabled": True}],
        "log_analytics_destination_type": "Dedicated",
    }

    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        monitor.DiagnosticSetting("sdk", **settings, opts=pulumi.ResourceOptions(parent=parent))
        DiagnosticSetting("ours", **settings, opts=pulumi.ResourceOptions(parent=parent))

    plan = run_azure(program)
    sdk, ours = plan.one(SETTING, "sdk"), plan.one(SETTING, "ours")
    assert ours.inputs == sdk.inputs and ours.outputs == sdk.outputs
    assert [a.replace("::ours", "::sdk") for a in ours.aliases] == list(sdk.aliases) and len(sdk.aliases) == 4
