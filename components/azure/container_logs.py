"""Where an Azure cell's container logs go: the cell's Log Analytics workspace (components/azure/audit_logs.py), table
ContainerLogV2, shipped by AKS's own monitoring add-on (Container Insights: the Azure Monitor agent, ``ama-logs``, a
DaemonSet AKS runs and upgrades), which authenticates as the cluster's managed identity: no key, no secret.

Why not the OpenTelemetry Collector the other clouds run (components/kubernetes/log_collector.py): the contrib
``azuremonitor`` exporter takes only an Application Insights instrumentation key (Entra ID needs a proxy sidecar;
opentelemetry-collector-contrib exporter/azuremonitorexporter/AUTHENTICATION.md), and no contrib exporter writes to
Log Analytics with a workload identity. So the cluster gets the add-on (AksCluster ``container_insights_workspace_id``:
``addonProfiles.omsagent`` with ``useAADAuth``) and this component says what it collects, as the Container Insights
onboarding templates do (microsoft/Docker-Provider scripts/onboarding/aks/onboarding-msi-bicep/
existingClusterOnboarding.bicep, API 2022-06-01):

- a data collection rule ``MSCI-<region>-<cluster>`` (the templates' name, at most 64 characters) of kind Linux in the
  workspace's region, with the ContainerInsights extension collecting ``STREAMS`` into the workspace;
- its association ``ContainerInsightsExtension`` with the cluster, which is how the add-on finds the rule.

ContainerLogV2's ``LogMessage`` is dynamic: serving's JSON lines are queryable by field (``LogMessage.request_id``)
without parse_json (Azure Monitor docs, "Container insights log schema"). The logs keep the workspace's retention (its
audit retention, longer than ``logs.retention_days``); the workspace's keys are Microsoft-managed (a named exception,
docs/design.md "Audit").
"""

from __future__ import annotations

from typing import Required, TypedDict

import pulumi
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.azure import AzureTags

from ._monitor import DataCollectionRule, DataCollectionRuleAssociation

TOKEN = "lepton:azure:ContainerLogs"
# The portal's "Logs and Events" preset (Azure Monitor docs, "Enable monitoring for Kubernetes clusters"): the
# containers' lines (v2 schema), Kubernetes events, and pod inventory to join lines to pods and their labels.
STREAMS = ("Microsoft-ContainerLogV2", "Microsoft-KubeEvents", "Microsoft-KubePodInventory")
# The templates' defaults (onboarding-msi-terraform/variables.tf): every minute, every namespace, the v2 schema.
DATA_COLLECTION_SETTINGS = {"interval": "1m", "namespaceFilteringMode": "Off", "enableContainerLogV2": True}
EXTENSION = "ContainerInsights"
ASSOCIATION = "ContainerInsightsExtension"  # the name the add-on looks for
WORKSPACE_DESTINATION = "ciworkspace"
RULE_NAME_MAX = 64


class ContainerLogsArgsDict(TypedDict, total=False):
    """ContainerLogsArgs as a plain dict: the same keys, validated the same way."""

    resource_group_name: Required[PulumiInput[str]]
    region: Required[str]
    cluster_name: Required[str]
    cluster_id: Required[PulumiInput[str]]
    workspace_id: Required[PulumiInput[str]]
    tags: AzureTags


class ContainerLogsArgs(ComponentArgs):
    resource_group_name: PulumiInput[str]
    region: str = Field(description="The workspace's region (the cell's): where the rule lives.")
    cluster_name: str = Field(description="The AKS cluster's name, in the rule's name.")
    cluster_id: PulumiInput[str] = Field(
        description="The AKS cluster (AksCluster.cluster_id), made with container_insights_workspace_id."
    )
    workspace_id: PulumiInput[str] = Field(description="The Log Analytics workspace (AuditLogs.workspace_id).")
    tags: AzureTags = Field(default_factory=dict)


def rule_name(region: str, cluster_name: str) -> str:
    return f"MSCI-{region.replace(' ', '')}-{cluster_name}"[:RULE_NAME_MAX]


class ContainerLogs(pulumi.ComponentResource):
    """The data collection rule of the cluster's monitoring add-on, associated with the cluster."""

    rule_id: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerLogsArgs | ContainerLogsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(ContainerLogsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rule = DataCollectionRule(
            f"{name}-rule",
            data_collection_rule_name=rule_name(args.region, args.cluster_name),
            resource_group_name=args.resource_group_name,
            location=args.region,
            kind="Linux",
            extensions=[{
                "name": ASSOCIATION,
                "streams": list(STREAMS),
                "extensionName": EXTENSION,
                "extensionSettings": {"dataCollectionSettings": dict(DATA_COLLECTION_SETTINGS)},
            }],
            log_analytics=[{"name": WORKSPACE_DESTINATION, "workspaceResourceId": args.workspace_id}],
            data_flows=[{"streams": list(STREAMS), "destinations": [WORKSPACE_DESTINATION]}],
            description=f"Container logs of AKS cluster {args.cluster_name} (Container Insights).",
            tags=args.tags,
            opts=child,
        )
        DataCollectionRuleAssociation(
            f"{name}-association",
            association_name=ASSOCIATION,
            resource_uri=args.cluster_id,
            data_collection_rule_id=rule.id,
            # The templates' own words: the add-on stops collecting without it.
            description="Association of data collection rule. Deleting this association will break the data "
            "collection for this AKS Cluster.",
            opts=child,
        )
        self.rule_id = rule.id
        self.register_outputs({"rule_id": self.rule_id})
