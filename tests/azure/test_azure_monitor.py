"""components/azure/_monitor.py spares the cold import of pulumi_azure_native.monitor: each of its resources must
register what the SDK's own class would (type, inputs under their API names, outputs, aliases), or a new SDK drifts
from it unnoticed."""

import pulumi
import pulumi_azure_native.monitor as monitor
import pytest

from lepton_infra.components.azure._monitor import DataCollectionRule, DataCollectionRuleAssociation, DiagnosticSetting
from lepton_infra.testing.mocks.azure import arm_id

from azure_support import CLUSTER_ID, RESOURCE_GROUP, TAGS, WORKSPACE_ID, run_azure

RULE_ID = arm_id(RESOURCE_GROUP, "Microsoft.Insights", "dataCollectionRules/MSCI-westeurope-dev-az-weu")

EXTENSION = {
    "name": "ContainerInsightsExtension",
    "streams": ["Microsoft-ContainerLogV2"],
    "extension_name": "ContainerInsights",
    "extension_settings": {"dataCollectionSettings": {"interval": "1m", "namespaceFilteringMode": "Off"}},
}
RULE = {
    "data_collection_rule_name": "MSCI-westeurope-dev-az-weu",
    "resource_group_name": RESOURCE_GROUP,
    "location": "westeurope",
    "kind": "Linux",
    "data_flows": [{"streams": ["Microsoft-ContainerLogV2"], "destinations": ["ciworkspace"]}],
    "description": "container logs",
    "tags": TAGS,
}
CASES = {
    "DiagnosticSetting": (
        monitor.DiagnosticSetting,
        DiagnosticSetting,
        {
            "name": "lepton-audit",
            "resource_uri": CLUSTER_ID,
            "workspace_id": WORKSPACE_ID,
            "logs": [{"category": "kube-audit", "enabled": True}],
            "log_analytics_destination_type": "Dedicated",
        },
        {},
        {},
    ),
    "DataCollectionRule": (
        monitor.DataCollectionRule,
        DataCollectionRule,
        RULE,
        # What the SDK takes as input types, ours takes in the API's words (its input types translate the keys).
        {
            "data_sources": {"extensions": [EXTENSION]},
            "destinations": {"log_analytics": [{"name": "ciworkspace", "workspace_resource_id": WORKSPACE_ID}]},
        },
        {
            "extensions": [{**{k: v for k, v in EXTENSION.items() if not k.startswith("extension_")},
                            "extensionName": EXTENSION["extension_name"],
                            "extensionSettings": EXTENSION["extension_settings"]}],
            "log_analytics": [{"name": "ciworkspace", "workspaceResourceId": WORKSPACE_ID}],
        },
    ),
    "DataCollectionRuleAssociation": (
        monitor.DataCollectionRuleAssociation,
        DataCollectionRuleAssociation,
        {
            "association_name": "ContainerInsightsExtension",
            "resource_uri": CLUSTER_ID,
            "data_collection_rule_id": RULE_ID,
            "description": "the rule of the cluster",
        },
        {},
        {},
    ),
}


@pytest.mark.parametrize("kind", CASES)
def test_each_registers_as_the_sdks_own_class_does(kind):
    sdk_class, our_class, common, sdk_only, ours_only = CASES[kind]

    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        sdk_class("sdk", **common, **sdk_only, opts=pulumi.ResourceOptions(parent=parent))
        our_class("ours", **common, **ours_only, opts=pulumi.ResourceOptions(parent=parent))

    plan = run_azure(program)
    token = our_class.TYPE
    sdk, ours = plan.one(token, "sdk"), plan.one(token, "ours")
    assert ours.inputs == sdk.inputs and ours.outputs == sdk.outputs
    assert [a.replace("::ours", "::sdk") for a in ours.aliases] == list(sdk.aliases)
    assert len(sdk.aliases) == len(our_class.ALIASES) > 0
