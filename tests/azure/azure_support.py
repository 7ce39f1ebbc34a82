"""Shared helpers for the Azure component tests: runs under the Azure mocks in westeurope, and refused args."""

from __future__ import annotations

from typing import Any, Callable

from lepton_infra.spec import SpecError
from lepton_infra.testing import OfflinePlan, RealisticMocks, run
from lepton_infra.testing import rejected as refused
from lepton_infra.testing.mocks.azure import SUBSCRIPTION_ID, arm_id

LOCATION = "westeurope"
RESOURCE_GROUP = "dev-az-weu"
SUBNET_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Network/"
    "virtualNetworks/dev-az-weu-network/subnets/nodes"
)
TAGS = {"lepton.ai_environment": "dev", "team": "ml"}
CLUSTER_ID = arm_id(RESOURCE_GROUP, "Microsoft.ContainerService", "managedClusters/dev-az-weu")
WORKSPACE_ID = arm_id(RESOURCE_GROUP, "Microsoft.OperationalInsights", "workspaces/dev-az-weu-audit")

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


def run_azure(program: Callable[[], Any], **kwargs) -> OfflinePlan:
    """``run`` with the provider's location set, as a stack's azure-native:location does."""
    return run(program, config={"azure-native:location": LOCATION}, mocks=RealisticMocks(region=LOCATION), **kwargs)


def rejected(build: Callable[[], object]) -> tuple[SpecError, OfflinePlan]:
    """The SpecError ``build`` raises under the Azure mocks and the plan it left behind (expected empty)."""
    return refused(build, config={"azure-native:location": LOCATION}, mocks=RealisticMocks(region=LOCATION))


def role_definition(role: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def assignments_of(plan: OfflinePlan, principal_id: str) -> list[dict]:
    """(role definition id, scope) of every role assignment given to ``principal_id``."""
    return [
        {"role": r.inputs["roleDefinitionId"], "scope": r.inputs["scope"]}
        for r in plan.of_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == principal_id
    ]
