"""An Azure cell's container logs: AKS's monitoring add-on (Container Insights) authenticating as the cluster's managed
identity, a data collection rule sending ContainerLogV2 to the cell's Log Analytics workspace, and its association
with the cluster (components/azure/container_logs.py); no in-cluster collector, no key."""

import pytest

from lepton_infra.components.azure.container_logs import ContainerLogs, rule_name
from lepton_infra.testing.mocks.azure import arm_id

from azure_support import CLUSTER_ID, RESOURCE_GROUP, TAGS, WORKSPACE_ID, rejected, run_azure
from test_azure_cell import CLUSTER, build, platform

RULE = "azure-native:monitor:DataCollectionRule"
ASSOCIATION = "azure-native:monitor:DataCollectionRuleAssociation"
WORKSPACE = "azure-native:operationalinsights:Workspace"


def args(**overrides):
    base = {
        "resource_group_name": RESOURCE_GROUP,
        "region": "westeurope",
        "cluster_name": "dev-az-weu",
        "cluster_id": CLUSTER_ID,
        "workspace_id": WORKSPACE_ID,
        "tags": TAGS,
    }
    return {**base, **overrides}


@pytest.fixture(scope="module")
def plan():
    return run_azure(lambda: ContainerLogs("logs", args()))


def test_the_rule_sends_the_containers_lines_to_the_workspace(plan):
    rule = plan.one(RULE).inputs
    assert rule["dataCollectionRuleName"] == "MSCI-westeurope-dev-az-weu"
    assert rule["kind"] == "Linux" and rule["location"] == "westeurope" and rule["resourceGroupName"] == RESOURCE_GROUP
    (extension,) = rule["dataSources"]["extensions"]
    assert extension["extensionName"] == "ContainerInsights"
    assert "Microsoft-ContainerLogV2" in extension["streams"]
    assert extension["extensionSettings"]["dataCollectionSettings"]["enableContainerLogV2"] is True
    (destination,) = rule["destinations"]["logAnalytics"]
    assert destination["workspaceResourceId"] == WORKSPACE_ID
    assert rule["dataFlows"] == [{"streams": extension["streams"], "destinations": [destination["name"]]}]
    assert rule["tags"] == TAGS


def test_the_rule_is_associated_with_the_cluster_under_the_name_the_add_on_reads(plan):
    association = plan.one(ASSOCIATION).inputs
    assert association["associationName"] == "ContainerInsightsExtension"
    assert association["resourceUri"] == CLUSTER_ID
    assert association["dataCollectionRuleId"] == arm_id(RESOURCE_GROUP, "Microsoft.Insights", "dataCollectionRules/MSCI-westeurope-dev-az-weu")


def test_the_rule_name_is_cut_to_what_azure_takes():
    assert rule_name("West Europe", "c" * 80) == ("MSCI-WestEurope-" + "c" * 80)[:64]
    assert len(rule_name("westeurope", "c" * 80)) == 64


@pytest.mark.parametrize("missing", ["cluster_id", "workspace_id", "region"])
def test_a_missing_arg_is_named_and_nothing_is_created(missing):
    error, left = rejected(lambda: ContainerLogs("logs", {k: v for k, v in args().items() if k != missing}))
    assert [path for path, _ in error.issues] == [missing]
    assert left.resources == []


@pytest.fixture(scope="module")
def cell_plan():
    return build(platform())[0]


def test_the_cells_cluster_runs_the_add_on_as_its_managed_identity_into_the_cells_workspace(cell_plan):
    (cluster,) = cell_plan.of_type(CLUSTER)
    (workspace,) = cell_plan.of_type(WORKSPACE)
    group = cluster.inputs["resourceGroupName"]
    workspace_id = arm_id(group, "Microsoft.OperationalInsights", f"workspaces/{workspace.inputs['workspaceName']}")
    cluster_id = arm_id(group, "Microsoft.ContainerService", f"managedClusters/{cluster.inputs['resourceName']}")
    assert cluster.inputs["addonProfiles"] == {
        "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": workspace_id, "useAADAuth": "true"}}
    }
    assert cell_plan.one(RULE).inputs["destinations"]["logAnalytics"][0]["workspaceResourceId"] == workspace_id
    assert cell_plan.one(ASSOCIATION).inputs["resourceUri"] == cluster_id


def test_logs_turned_off_means_no_add_on_and_no_rule():
    plan = build(platform(logs={"enabled": False}))[0]
    (cluster,) = plan.of_type(CLUSTER)
    assert "addonProfiles" not in cluster.inputs
    assert plan.of_type(RULE) == [] and plan.of_type(ASSOCIATION) == []
