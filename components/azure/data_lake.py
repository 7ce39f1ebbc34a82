"""The Azure data lake: one ADLS Gen2 account (StorageV2 with hierarchical namespace), a filesystem per zone.

Per docs/design.md, "Data lake":
- Encryption: a customer-managed RSA key in a Key Vault of its own (RBAC authorization, soft delete, purge
  protection), used by the account through a user-assigned identity that holds Key Vault Crypto Service Encryption
  User on that key only; infrastructure (double) encryption on.
- Access: Entra ID only (no shared key, so no account keys or account SAS work), TLS 1.2 at least, HTTPS only, no
  anonymous blob access, copies only within the tenant.
- Network: public network access is denied by the firewall except for the cell's node subnet, the caller's IP
  ranges and trusted Azure services.
- Recovery: blob versioning is not available on accounts with a hierarchical namespace (Blob Storage feature
  support table, "Blob versioning" with HNS: not yet supported / preview:
  https://learn.microsoft.com/azure/storage/blobs/storage-feature-support-in-storage-accounts), so deleted blobs and
  deleted filesystems are kept by soft delete for ``soft_delete_retention_days``.
- Lifecycle: the lifecycle spec the AWS lake uses, mapped where Azure has the same thing: after
  ``infrequent_access_after_days`` blobs move to Cool, after ``archive_after_days`` to Cold. Cold, not Archive: Cold is
  an online tier, so a model server holding grant_read reads an old artifact with a plain GET, as the AWS lake uses
  Glacier Instant Retrieval for the same reason; an archived blob needs hours of rehydration first (Azure docs,
  "Access tiers for blob data"). ``noncurrent_versions_expire_after_days`` has nothing to act on without versioning,
  and Azure discards uncommitted blocks after 7 days by itself (``abort_incomplete_uploads_after_days``).

Workloads get access through ``grant_read`` / ``grant_write``: Storage Blob Data Reader / Contributor on that zone's
filesystem only, for a WorkloadIdentity.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_azure_native.storage as storage
from pydantic import Field

from lepton_infra.cell_contract import Grantee
from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import ComponentArgs, LifecycleSpec, NamePrefix, PulumiInput, SpecError, parse_model
from lepton_infra.spec.azure import AdlsDataLakeSpec, AzureTags

from .._resource_options import data_options
from . import _names, _roles
from ._keyvault import encryption_key
from .workload_identity import WorkloadIdentity

TOKEN = "lepton:azure:DataLake"
MINIMUM_TLS_VERSION = "TLS1_2"
_GRANT_ROLES = {"read": _roles.STORAGE_BLOB_DATA_READER, "write": _roles.STORAGE_BLOB_DATA_CONTRIBUTOR}


class DataLakeArgsDict(TypedDict, total=False):
    """DataLakeArgs as a plain dict: the same keys, validated the same way."""

    spec: AdlsDataLakeSpec | Mapping[str, Any]
    resource_group_name: Required[PulumiInput[str]]
    name_prefix: NamePrefix | None
    allowed_subnet_ids: Sequence[PulumiInput[str]]
    protected: bool
    tags: AzureTags


class DataLakeArgs(ComponentArgs):
    spec: AdlsDataLakeSpec = Field(default_factory=AdlsDataLakeSpec)
    resource_group_name: PulumiInput[str]
    name_prefix: NamePrefix | None = Field(
        None, description="Prefix of physical names (account, vault), e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    allowed_subnet_ids: list[PulumiInput[str]] = Field(
        default_factory=list,
        description="Subnets whose traffic the firewall admits (the cell's node subnet; it needs the Microsoft.Storage "
        "service endpoint, which Network gives it).",
    )
    protected: bool = Field(False, description="protect + retain_on_delete on the account, filesystems, key and vault (prod).")
    tags: AzureTags = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------- settings
def lifecycle_rules(lifecycle: LifecycleSpec) -> list[dict[str, Any]]:
    """Tier block blobs to Cool, then to Cold (online), by days since their last modification."""
    return [
        {
            "name": "tiering",
            "enabled": True,
            "type": "Lifecycle",
            "definition": {
                "filters": {"blob_types": ["blockBlob"]},
                "actions": {
                    "base_blob": {
                        "tier_to_cool": {"days_after_modification_greater_than": lifecycle.infrequent_access_after_days},
                        "tier_to_cold": {"days_after_modification_greater_than": lifecycle.archive_after_days},
                    }
                },
            },
        }
    ]


def network_rules(subnet_ids: Sequence[pulumi.Input[str]], ip_ranges: Sequence[str]) -> dict[str, Any]:
    """Deny by default; admit the given subnets and IP ranges, and trusted Azure services.

    Storage IP rules take a single address for a /32 and refuse /31 and /32 prefixes (Azure Storage docs, "IP
    network rules").
    """
    return {
        "default_action": "Deny",
        "bypass": "AzureServices",
        "virtual_network_rules": [{"virtual_network_resource_id": s, "action": "Allow"} for s in subnet_ids],
        "ip_rules": [{"i_p_address_or_range": c.removesuffix("/32"), "action": "Allow"} for c in ip_ranges],
    }


def soft_delete(days: int) -> dict[str, Any]:
    return {"enabled": True, "days": days}


def abfs_uri(filesystem: str, account: str) -> str:
    """The zone as fsspec/adlfs addresses it: abfs://<filesystem>@<account>.dfs.core.windows.net/."""
    return f"abfs://{filesystem}@{account}.dfs.core.windows.net/"


# --------------------------------------------------------------------------------------------------- component
class DataLake(pulumi.ComponentResource):
    """An ADLS Gen2 account under a customer-managed key, private by firewall, a filesystem per zone."""

    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    dfs_endpoint: pulumi.Output[str]
    filesystems: dict[str, pulumi.Output[str]]
    filesystem_ids: dict[str, pulumi.Output[str]]
    uris: dict[str, pulumi.Output[str]]
    key_vault_uri: pulumi.Output[str]
    key_uri: pulumi.Output[str]

    def __init__(self, name: str, args: DataLakeArgs | DataLakeArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(DataLakeArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name, self._zones = name, list(args.spec.zones)
        data_opts = data_options(self, args.protected)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        client = _roles.client_config(self)
        self._subscription_id = client.subscription_id
        group, tags = args.resource_group_name, dict(args.tags)

        # The account cannot read its own data without this identity and key: both are kept with the data.
        cmk = encryption_key(
            self,
            name,
            identity_name=physical_name(prefix, "lake-encryption", max_length=128),
            vault_name=_names.global_name_output(_names.KEY_VAULT, prefix, "lake", client.subscription_id),
            key_name="lake",
            resource_group_name=group,
            client=client,
            tags=tags,
            opts=data_opts,
        )
        encryption_identity, managed = cmk.identity, cmk.managed
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=_names.global_name_output(_names.STORAGE_ACCOUNT, prefix, "lake", client.subscription_id),
            resource_group_name=group,
            kind="StorageV2",
            sku={"name": f"Standard_{args.spec.redundancy}"},
            access_tier="Hot",
            is_hns_enabled=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            enable_https_traffic_only=True,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            allowed_copy_scope="AAD",
            public_network_access="Enabled",  # admitted only as network_rule_set allows
            network_rule_set=network_rules(args.allowed_subnet_ids, args.spec.allowed_ip_ranges),
            identity={"type": "UserAssigned", "user_assigned_identities": [encryption_identity.id]},
            encryption={
                "key_source": "Microsoft.Keyvault",
                "key_vault_properties": {"key_name": managed.key.name, "key_vault_uri": managed.vault_uri},
                "encryption_identity": {"encryption_user_assigned_identity": encryption_identity.id},
                "require_infrastructure_encryption": True,
                "services": {"blob": {"enabled": True, "key_type": "Account"}, "file": {"enabled": True, "key_type": "Account"}},
            },
            tags=tags,
            opts=pulumi.ResourceOptions.merge(data_opts, pulumi.ResourceOptions(depends_on=[cmk.key_access])),
        )
        child = pulumi.ResourceOptions(parent=self)
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=group,
            blob_services_name="default",
            delete_retention_policy=soft_delete(args.spec.soft_delete_retention_days),
            container_delete_retention_policy=soft_delete(args.spec.soft_delete_retention_days),
            is_versioning_enabled=False,  # not available with a hierarchical namespace (see the module doc)
            opts=child,
        )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=account.name,
            resource_group_name=group,
            management_policy_name="default",
            policy={"rules": lifecycle_rules(args.spec.lifecycle)},
            opts=child,
        )
        self._filesystems = {
            zone: storage.BlobContainer(
                f"{name}-{zone}",
                container_name=zone,
                account_name=account.name,
                resource_group_name=group,
                public_access="None",
                opts=pulumi.ResourceOptions.merge(data_opts, pulumi.ResourceOptions(depends_on=[blob_service])),
            )
            for zone in self._zones
        }

        self.account_name = account.name
        self.account_id = account.id
        self.dfs_endpoint = account.primary_endpoints.apply(lambda e: e.dfs)
        self.filesystems = {zone: fs.name for zone, fs in self._filesystems.items()}
        self.filesystem_ids = {zone: fs.id for zone, fs in self._filesystems.items()}
        self.uris = {
            zone: pulumi.Output.all(fs.name, account.name).apply(lambda a: abfs_uri(*a)) for zone, fs in self._filesystems.items()
        }
        self.key_vault_uri = managed.vault_uri
        self.key_uri = managed.key_uri
        self.register_outputs(
            {
                "account_name": self.account_name,
                "dfs_endpoint": self.dfs_endpoint,
                "filesystems": self.filesystems,
                "uris": self.uris,
                "key_vault_uri": self.key_vault_uri,
                "key_uri": self.key_uri,
            }
        )

    # grants ------------------------------------------------------------------------------------
    def grant_read(self, identity: WorkloadIdentity, zone: str):
        """Let ``identity`` list and read the blobs of ``zone`` (Storage Blob Data Reader on its filesystem)."""
        return self._grant(identity, zone, "read")

    def grant_write(self, identity: WorkloadIdentity, zone: str):
        """Let ``identity`` read, write and delete the blobs of ``zone`` (Storage Blob Data Contributor on it)."""
        return self._grant(identity, zone, "write")

    def _grant(self, identity: Grantee, zone: str, mode: Literal["read", "write"]):
        source = f"DataLake.grant_{mode}"
        if not isinstance(identity, WorkloadIdentity):
            cloud = getattr(identity, "cloud", type(identity).__name__)
            raise SpecError([("identity", f"an Azure lake grants to an Azure WorkloadIdentity, not to {cloud!r}")], source)
        if zone not in self._filesystems:
            raise SpecError([("zone", f"unknown zone {zone!r}; this lake's zones: {', '.join(self._zones)}")], source)
        return identity.assign_role(
            f"{self._resource_name}-{zone}-{mode}",
            role=_GRANT_ROLES[mode],
            scope=self._filesystems[zone].id,
            subscription_id=self._subscription_id,
        )
