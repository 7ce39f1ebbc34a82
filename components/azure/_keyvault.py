"""A Key Vault and an RSA key in it, for customer-managed-key encryption.

The vault authorizes with Azure RBAC only (no access policies), keeps deleted keys 90 days (soft delete) and can
never be purged early (purge protection): a key a storage account encrypts with must not vanish, or the data goes
with it. Its firewall denies every network but trusted Azure services, which is how Azure Storage reaches a
customer-managed key (Key Vault docs, "Trusted services"). The key rotates yearly; services that take the key's
versionless URI pick a new version up by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity

from . import _roles

SOFT_DELETE_RETENTION_DAYS = 90  # the most Key Vault allows (7-90)
KEY_SIZE = 3072
ROTATE_AFTER = "P1Y"
KEY_EXPIRES_AFTER = "P2Y"


@dataclass(frozen=True)
class ManagedKey:
    vault: keyvault.Vault
    key: keyvault.Key

    @property
    def vault_uri(self) -> pulumi.Output[str]:
        return self.vault.properties.vault_uri

    @property
    def key_uri(self) -> pulumi.Output[str]:
        """Versionless: encryption follows the key's newest version after each rotation."""
        return self.key.key_uri


# The vault's firewall: every network denied but trusted Azure services (Key Vault docs, "Trusted services").
FIREWALLED = {"default_action": "Deny", "bypass": "AzureServices"}


def vault_properties(tenant_id: pulumi.Input[str], network_acls: dict | None = None) -> dict:
    return {
        "tenant_id": tenant_id,
        "sku": {"family": "A", "name": "standard"},
        "enable_rbac_authorization": True,
        "enable_soft_delete": True,
        "soft_delete_retention_in_days": SOFT_DELETE_RETENTION_DAYS,
        "enable_purge_protection": True,
        "public_network_access": "Enabled",  # reachable only as network_acls allow
        "network_acls": dict(network_acls or FIREWALLED),
    }


def key_properties() -> dict:
    return {
        "kty": "RSA",
        "key_size": KEY_SIZE,
        "key_ops": ["wrapKey", "unwrapKey"],
        "rotation_policy": {
            "attributes": {"expiry_time": KEY_EXPIRES_AFTER},
            "lifetime_actions": [{"action": {"type": "rotate"}, "trigger": {"time_after_create": ROTATE_AFTER}}],
        },
    }


def customer_managed_key(
    name: str,
    *,
    vault_name: pulumi.Input[str],
    key_name: str,
    resource_group_name: pulumi.Input[str],
    tenant_id: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    network_acls: dict | None = None,
) -> ManagedKey:
    """A vault and a key, both with ``opts`` (the caller's data options: protected and kept in prod); the vault
    behind FIREWALLED unless ``network_acls`` says otherwise."""
    vault = keyvault.Vault(
        f"{name}-vault",
        vault_name=vault_name,
        resource_group_name=resource_group_name,
        properties=vault_properties(tenant_id, network_acls),
        tags=tags,
        opts=opts,
    )
    key = keyvault.Key(
        f"{name}-key",
        key_name=key_name,
        vault_name=vault.name,
        resource_group_name=resource_group_name,
        properties=key_properties(),
        tags=tags,
        opts=opts,
    )
    return ManagedKey(vault, key)


@dataclass(frozen=True)
class EncryptionKey:
    """What a service encrypts its data with: a user-assigned identity, a key in a vault of its own, and the role
    assignment that lets the identity use the key (the service waits for it: it reads the key when it is created)."""

    identity: managedidentity.UserAssignedIdentity
    managed: ManagedKey
    key_access: pulumi.Resource


def encryption_key(
    parent: pulumi.Resource,
    name: str,
    *,
    identity_name: pulumi.Input[str],
    vault_name: pulumi.Input[str],
    key_name: str,
    resource_group_name: pulumi.Input[str],
    client: Any,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    network_acls: dict | None = None,
) -> EncryptionKey:
    """The identity ``<name>-encryption``, the vault and key of ``customer_managed_key`` and the identity's Key Vault
    Crypto Service Encryption User role on the key, all kept with the data (``opts``: the caller's data options):
    the service cannot read its data without them. ``client``: the deployer's client config (tenant, subscription)."""
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-encryption",
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        tags=tags,
        opts=opts,
    )
    managed = customer_managed_key(
        name,
        vault_name=vault_name,
        key_name=key_name,
        resource_group_name=resource_group_name,
        tenant_id=client.tenant_id,
        tags=tags,
        opts=opts,
        network_acls=network_acls,
    )
    key_access = _roles.assign(
        parent,
        f"{name}-key-encryption-user",
        role=_roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
        principal_id=identity.principal_id,
        scope=managed.key.id,
        subscription_id=client.subscription_id,
    )
    return EncryptionKey(identity, managed, key_access)
