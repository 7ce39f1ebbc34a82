"""Azure RBAC: the built-in roles the components grant, and one way to grant them.

Role definition ids from Azure's built-in roles reference
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles): they are the same GUID in every tenant.
Every grant is scoped to the one resource it is about (a filesystem, a key, a subnet, a registry, a cluster).
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_azure_native.authorization as authorization

# Read and list blobs (Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read).
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
# Read, write and delete blobs.
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# Read a key's metadata and wrap / unwrap with it: what a service needs for customer-managed-key encryption.
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
# AKS's identity on a bring-your-own subnet (AKS docs, "Use a managed identity": BYO VNet needs it on the subnet).
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# Pull images (the kubelet identity of the cluster's nodes).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# Cluster-admin through Azure RBAC for Kubernetes authorization.
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

SERVICE_PRINCIPAL = "ServicePrincipal"


def client_config(parent: pulumi.Resource) -> pulumi.Output[authorization.GetClientConfigResult]:
    """The identity running the program: its tenant, subscription and object id."""
    return authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent))


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role)


def assign(
    parent: pulumi.Resource,
    name: str,
    *,
    role: str,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    principal_type: str = SERVICE_PRINCIPAL,
    depends_on: Sequence[pulumi.Resource] = (),
) -> authorization.RoleAssignment:
    """Grant ``role`` to ``principal_id`` on ``scope`` only.

    ``principal_type`` must be the principal's kind (ARM refuses a mismatch; the SDK would default to User):
    ServicePrincipal for managed identities, which also lets ARM skip the directory lookup that fails for an
    identity created seconds ago.
    """
    return authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=role_definition_id(subscription_id, role),
        scope=scope,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
