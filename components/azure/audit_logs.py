"""The Azure cell's audit trail: AKS control-plane audit logs and the lake's blob access logs in a Log Analytics workspace.

- AKS: a diagnostic setting on the managed cluster sending the categories ``kube-audit`` (every API server request),
  ``kube-audit-admin`` (the same without get and list) and ``guard`` (Entra ID and Azure RBAC authorization
  decisions) (AKS docs, "Monitor AKS", resource logs: https://learn.microsoft.com/azure/aks/monitor-aks-reference).
- Lake: a diagnostic setting on the storage account's blob service (``<account id>/blobServices/default``) sending
  ``StorageRead``, ``StorageWrite`` and ``StorageDelete`` (Azure Storage docs, "Monitoring Azure Blob Storage data
  reference", resource logs: https://learn.microsoft.com/azure/storage/blobs/monitor-blob-storage-reference).
- Both into resource-specific tables (``log_analytics_destination_type`` Dedicated: AKSAudit, AKSAuditAdmin,
  AKSControlPlane, StorageBlobLogs) of one workspace per cell, which keeps them ``retention_days`` (30-730 on the
  pay-as-you-go PerGB2018 plan), accepts only Entra ID (no shared keys) and grants access by workspace permissions or
  by each resource's (resource-context access).
- Keys: Microsoft-managed, a named exception (docs/design.md, "Audit"; lepton_infra/policy/encryption.py). A
  customer-managed key for Log Analytics is set on a dedicated cluster (Microsoft.OperationalInsights/clusters,
  ``keyVaultProperties``) that workspaces link to, not on a workspace, and a dedicated cluster bills a commitment
  tier starting at 100 GB a day (Azure Monitor docs, "Azure Monitor customer-managed key":
  https://learn.microsoft.com/azure/azure-monitor/logs/customer-managed-keys, and "Create and manage a dedicated
  cluster in Azure Monitor Logs", cluster pricing model:
  https://learn.microsoft.com/azure/azure-monitor/logs/logs-dedicated-clusters): far above what a cell's audit logs
  weigh. The data is encrypted at rest with Microsoft-managed keys meanwhile.
- The diagnostic settings are registered without importing ``pulumi_azure_native.monitor`` (components/azure/
  _monitor.py: the same resource, 0.6 s less of a cold plan).
- The workspace comes first and the sources join it (``audit_cluster``, ``audit_lake``): the cluster's monitoring
  add-on names the workspace (components/azure/container_logs.py), so the workspace cannot wait for the cluster.
- Protected environments protect and retain the workspace (the logs are in it); the diagnostic settings are
  configuration.
"""

from __future__ import annotations

from typing import Required, TypedDict
import pulumi
import pulumi_azure_native.operationalinsights as operationalinsights
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.azure import LOG_ANALYTICS_MAX_RETENTION_DAYS, AzureTags
from lepton_infra.spec.common import AUDIT_RETENTION_DAYS

from .._resource_options import data_options
from ._monitor import DiagnosticSetting

TOKEN = "lepton:azure:AuditLogs"
AKS_AUDIT_CATEGORIES = ("kube-audit", "kube-audit-admin", "guard")
BLOB_ACCESS_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
WORKSPACE_SKU = "PerGB2018"
DIAGNOSTIC_SETTING_NAME = "lepton-audit"
# Log Analytics workspace names: 4-63 letters, digits and '-', starting and ending with a letter or digit.
WORKSPACE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$"


class AuditLogsArgsDict(TypedDict, total=False):
    """AuditLogsArgs as a plain dict: the same keys, validated the same way."""

    resource_group_name: Required[PulumiInput[str]]
    workspace_name: Required[str]
    retention_days: Required[int]
    protected: bool
    tags: AzureTags


class AuditLogsArgs(ComponentArgs):
    resource_group_name: PulumiInput[str]
    workspace_name: str = Field(pattern=WORKSPACE_NAME_PATTERN, description="The Log Analytics workspace's name.")
    retention_days: int = Field(
        ge=AUDIT_RETENTION_DAYS,
        le=LOG_ANALYTICS_MAX_RETENTION_DAYS,
        description="Days the workspace keeps the logs (the cell's audit.retention_days, by environment).",
    )
    protected: bool = Field(False, description="protect + retain_on_delete on the workspace (prod).")
    tags: AzureTags = Field(default_factory=dict)


def logs(categories: tuple[str, ...]) -> list[dict]:
    return [{"category": category, "enabled": True} for category in categories]


def blob_service_id(storage_account_id: str) -> str:
    """The blob service of an account, the resource its blob logs belong to."""
    return f"{storage_account_id}/blobServices/default"


class AuditLogs(pulumi.ComponentResource):
    """The cell's Log Analytics workspace; ``audit_cluster`` and ``audit_lake`` send the cluster's audit logs and the
    lake's blob access logs into it."""

    workspace_id: pulumi.Output[str]
    workspace_customer_id: pulumi.Output[str]

    def __init__(self, name: str, args: AuditLogsArgs | AuditLogsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(AuditLogsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            sku={"name": WORKSPACE_SKU},
            retention_in_days=args.retention_days,
            features={"disable_local_auth": True, "enable_log_access_using_only_resource_permissions": True},
            tags=dict(args.tags),
            opts=data_options(self, args.protected),
        )
        self._name = name
        self.workspace_id = workspace.id
        self.workspace_customer_id = workspace.customer_id
        self.register_outputs({"workspace_id": self.workspace_id, "workspace_customer_id": self.workspace_customer_id})

    def audit_cluster(self, cluster_id: pulumi.Input[str]) -> DiagnosticSetting:
        """Send the AKS cluster's audit and authorization logs (``cluster_id``: AksCluster.cluster_id) here."""
        return self._diagnostic_setting("cluster", pulumi.Output.from_input(cluster_id), AKS_AUDIT_CATEGORIES)

    def audit_lake(self, storage_account_id: pulumi.Input[str]) -> DiagnosticSetting:
        """Send the lake's blob reads, writes and deletes (``storage_account_id``: DataLake.account_id) here."""
        blobs = pulumi.Output.from_input(storage_account_id).apply(blob_service_id)
        return self._diagnostic_setting("lake", blobs, BLOB_ACCESS_CATEGORIES)

    def _diagnostic_setting(self, source: str, resource_uri: pulumi.Output[str], categories: tuple[str, ...]):
        return DiagnosticSetting(
            f"{self._name}-{source}",
            name=DIAGNOSTIC_SETTING_NAME,
            resource_uri=resource_uri,
            workspace_id=self.workspace_id,
            log_analytics_destination_type="Dedicated",
            logs=logs(categories),
            opts=pulumi.ResourceOptions(parent=self),
        )
