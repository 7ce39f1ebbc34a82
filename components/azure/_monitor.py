"""Azure Monitor resources, registered as pulumi_azure_native registers them, without importing its module.

``pulumi_azure_native.monitor`` loads all sixty of its resource modules and their input and output types on first
use (its ``__init__`` star-imports them): 0.59 s of a cold offline plan of prod on a busy 2-core machine
(``python -X importtime -m lepton_infra plan prod``, its modules' own times summed), for the three resources the Azure
cell needs from it. Each class here registers its resource the same way: its type token, the SDK's aliases, its version
options (``_utilities.get_resource_opts_defaults``), and its inputs under their API names (nested keys too: what the
SDK's input types translate snake_case to); the provider is the same azure-native plugin. tests/azure/test_azure_monitor.py
compares each with the SDK's own class under mocks, so a new SDK that registers one differently fails a test instead
of drifting. The aliases and outputs are those of pulumi_azure_native 3.29 (monitor/<resource>.py).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

import pulumi
from pulumi_azure_native import _utilities


class _MonitorResource(pulumi.CustomResource):
    TYPE: ClassVar[str]
    ALIASES: ClassVar[tuple[str, ...]]  # the earlier tokens the SDK's class lists as aliases
    # Properties the provider fills in (the SDK registers them as None so they come back as outputs).
    OUTPUTS: ClassVar[tuple[str, ...]]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None):
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=t) for t in self.ALIASES]))
        super().__init__(self.TYPE, resource_name, {**props, **{output: None for output in self.OUTPUTS}}, opts)


def _versions(module: str, kind: str, versions: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"azure-native:{module}{'/' + v if v else ''}:{kind}" for v in versions)


class DiagnosticSetting(_MonitorResource):
    """``monitor.DiagnosticSetting(name, name=..., resource_uri=..., workspace_id=..., logs=[{category, enabled}],
    log_analytics_destination_type=...)``: logs of ``resource_uri`` into a Log Analytics workspace."""

    TYPE = "azure-native:monitor:DiagnosticSetting"
    ALIASES = (
        "azure-native:insights/v20210501preview:DiagnosticSetting",
        "azure-native:insights:DiagnosticSetting",
        "azure-native:monitor/v20170501preview:DiagnosticSetting",
        "azure-native:monitor/v20210501preview:DiagnosticSetting",
    )
    OUTPUTS = ("azureApiVersion", "systemData", "type")

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        resource_uri: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        logs: Sequence[dict[str, Any]],
        log_analytics_destination_type: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "logAnalyticsDestinationType": log_analytics_destination_type,
            "logs": [dict(log) for log in logs],
            "name": name,
            "resourceUri": resource_uri,
            "workspaceId": workspace_id,
        }
        super().__init__(resource_name, props, opts)


_DCR_VERSIONS = ("v20191101preview", "v20210401", "v20210901preview", "v20220601", "v20230311", "v20240311")


class DataCollectionRule(_MonitorResource):
    """``monitor.DataCollectionRule(name, data_collection_rule_name=..., resource_group_name=..., location=..., kind=...,
    data_sources={"extensions": [...]}, destinations={"log_analytics": [...]}, data_flows=[...], description=...,
    tags=...)``: what an Azure Monitor agent collects and where it sends it. Extension data sources only (the one kind
    the cell uses), written with the API's names."""

    TYPE = "azure-native:monitor:DataCollectionRule"
    ALIASES = (
        *_versions("insights", "DataCollectionRule", ("v20220601", "v20230311", "")),
        *_versions("monitor", "DataCollectionRule", _DCR_VERSIONS),
    )
    OUTPUTS = ("azureApiVersion", "etag", "immutableId", "metadata", "name", "provisioningState", "systemData", "type")

    def __init__(
        self,
        resource_name: str,
        *,
        data_collection_rule_name: str,
        resource_group_name: pulumi.Input[str],
        location: str,
        kind: str,
        extensions: Sequence[Mapping[str, Any]],
        log_analytics: Sequence[Mapping[str, Any]],
        data_flows: Sequence[Mapping[str, Any]],
        description: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``extensions``: ``{name, streams, extensionName, extensionSettings}``; ``log_analytics``:
        ``{name, workspaceResourceId}``; ``data_flows``: ``{streams, destinations}`` (the API's names)."""
        props = {
            "dataCollectionRuleName": data_collection_rule_name,
            "dataFlows": [dict(flow) for flow in data_flows],
            "dataSources": {"extensions": [dict(extension) for extension in extensions]},
            "description": description,
            "destinations": {"logAnalytics": [dict(destination) for destination in log_analytics]},
            "kind": kind,
            "location": location,
            "resourceGroupName": resource_group_name,
            "tags": dict(tags),
        }
        super().__init__(resource_name, props, opts)


class DataCollectionRuleAssociation(_MonitorResource):
    """``monitor.DataCollectionRuleAssociation(name, association_name=..., resource_uri=..., data_collection_rule_id=...,
    description=...)``: a rule applied to a resource (an AKS cluster's monitoring agent reads it)."""

    TYPE = "azure-native:monitor:DataCollectionRuleAssociation"
    ALIASES = (
        *_versions("insights", "DataCollectionRuleAssociation", ("v20220601", "v20230311", "")),
        *_versions("monitor", "DataCollectionRuleAssociation", _DCR_VERSIONS),
    )
    OUTPUTS = ("azureApiVersion", "etag", "metadata", "name", "provisioningState", "systemData", "type")

    def __init__(
        self,
        resource_name: str,
        *,
        association_name: str,
        resource_uri: pulumi.Input[str],
        data_collection_rule_id: pulumi.Input[str],
        description: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "associationName": association_name,
            "dataCollectionRuleId": data_collection_rule_id,
            "description": description,
            "resourceUri": resource_uri,
        }
        super().__init__(resource_name, props, opts)
