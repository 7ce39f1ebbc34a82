"""The Azure cell's own settings: VNet, AKS cluster and ADLS Gen2 data lake (docs/design.md, "Data lake").

Field names follow the AWS cell where the meaning is the same (``private_endpoint``, ``public_access_cidrs``), so a
stack file reads alike on every cloud; Azure's own spellings (enablePrivateCluster, authorizedIPRanges) stay inside
components/azure.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .common import (
    AUDIT_RETENTION_DAYS,
    AuditSpec,
    CellBase,
    audit_retention_field,
    Cidr,
    ClusterEndpointSpec,
    DataLakeZonesSpec,
    NodeScaling,
    RegistrySpec,
    SpecIssues,
    Strict,
    schema_rule,
)
from .interconnect import VpnSpec

# Azure region names are lowercase letters and digits, no separators (`az account list-locations --query [].name`):
# westeurope, eastus2, southafricanorth. An AWS-style name (eu-west-1) is the common mistake this catches.
AZURE_REGION_PATTERN = r"^[a-z]+[a-z0-9]*$"


def _azure_region(value: str) -> str:
    if not re.match(AZURE_REGION_PATTERN, value):
        raise ValueError(
            f"{value!r} is not an Azure region name: lowercase letters and digits, no '-' (e.g. westeurope, eastus2; "
            "see `az account list-locations --query [].name`)"
        )
    return value


AzureRegion = Annotated[str, AfterValidator(_azure_region), schema_rule(pattern=AZURE_REGION_PATTERN)]

# AKS agent pool names: lowercase letters and digits, starting with a letter, at most 12 characters for Linux pools
# (AKS docs, "Create node pools", naming rules: https://learn.microsoft.com/azure/aks/create-node-pools).
AKS_POOL_NAME_MAX = 12
_AKS_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")

# Azure tag names may not contain < > % & \\ ? / (Azure Resource Manager docs, "Use tags", limitations:
# https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations), which the
# platform's own tag keys (lepton.ai/environment) do; azure_tags() spells them with '_' instead.
_TAG_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def azure_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags as Azure accepts them: every forbidden character of a name replaced by '_' (lepton.ai_environment)."""
    return {_TAG_FORBIDDEN.sub("_", key): value for key, value in tags.items()}


def _azure_tag_names(tags: dict[str, str]) -> dict[str, str]:
    if bad := [key for key in tags if _TAG_FORBIDDEN.search(key)]:
        raise ValueError(
            f"Azure tag names may not contain < > % & \\ ? /: {bad}; use lepton_infra.spec.azure.azure_tags() "
            f"(e.g. {azure_tags({bad[0]: ''}).popitem()[0]!r})"
        )
    return tags


AzureTags = Annotated[dict[str, str], AfterValidator(_azure_tag_names), schema_rule(propertyNames={"pattern": r"^[^<>%&\\?/]*$"})]

UpgradeChannel = Literal["patch", "stable", "rapid", "node-image", "none"]
NodeOsUpgradeChannel = Literal["NodeImage", "SecurityPatch", "Unmanaged", "None"]
# Blob storage redundancy (storage SKU Standard_<redundancy>). Every one supports the Cool and Cold online tiers the
# lifecycle policy uses (Archive, which ZRS kinds lack, is not used: see components/azure/data_lake.py).
Redundancy = Literal["LRS", "ZRS", "GRS", "GZRS", "RAGRS", "RAGZRS"]


def aks_pool_name(pool: str) -> str:
    """A lepton pool name (a DNS label) as AKS spells agent pools: its letters and digits (h100-spot -> h100spot)."""
    return re.sub(r"[^a-z0-9]", "", pool)


def aks_pool_name_issue(pool: str) -> str | None:
    """Why ``pool`` cannot name an AKS agent pool, or None."""
    if _AKS_POOL_NAME.match(aks_pool_name(pool)):
        return None
    return (
        f"{pool!r} cannot name an AKS agent pool: without its '-' it must be 1-{AKS_POOL_NAME_MAX} lowercase letters "
        "and digits starting with a letter (e.g. h100spot)"
    )


def _overlaps(named: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    """Every pair of the named CIDRs that overlap, reported on the later field."""
    issues, seen = [], []
    for field, cidr in named.items():
        network = ipaddress.IPv4Network(cidr)
        for other, other_net in seen:
            if network.overlaps(other_net):
                issues.append(((field,), f"{cidr} overlaps {other} ({other_net}); pick a disjoint range"))
        seen.append((field, network))
    return issues


class AzureNetworkSpec(Strict):
    """The VNet and, with Azure CNI overlay, the address ranges pods and services take (outside the VNet)."""

    cidr: Cidr = Field("10.0.0.0/16", description="The VNet's address space.")
    node_subnet_cidr: Cidr | None = Field(
        None, description="Subnet of the nodes (overlay: pods do not use it). Default: the first quarter of the VNet."
    )
    pod_cidr: Cidr = Field("10.244.0.0/16", description="Overlay pod range (AKS's default); outside the VNet.")
    service_cidr: Cidr = Field(
        "172.16.0.0/16",
        description="Kubernetes service range. AKS's default 10.0.0.0/16 would overlap the default VNet, so it is set.",
    )

    gateway_subnet_cidr: Cidr | None = Field(
        None,
        description="The GatewaySubnet the VPN gateway lives in, in a stack of several cells (/27 or larger, as Azure "
        "asks). Default: the last /27 of the VNet.",
    )

    @property
    def gateway_subnet(self) -> str:
        return self.gateway_subnet_cidr or str(last_block(ipaddress.IPv4Network(self.cidr), 27))

    @property
    def nodes(self) -> str:
        return self.node_subnet_cidr or str(next(ipaddress.IPv4Network(self.cidr).subnets(prefixlen_diff=2)))

    @property
    def dns_service_ip(self) -> str:
        """The cluster DNS service's address: the tenth of the service range, as AKS's own default (10.0.0.10)."""
        return str(ipaddress.IPv4Network(self.service_cidr)[10])

    @model_validator(mode="after")
    def _disjoint(self) -> "AzureNetworkSpec":
        vnet = ipaddress.IPv4Network(self.cidr)
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if vnet.prefixlen > 24:
            issues.append((("cidr",), f"/{vnet.prefixlen} is too small; use /24 or larger (e.g. /16)"))
        elif self.node_subnet_cidr and not ipaddress.IPv4Network(self.node_subnet_cidr).subnet_of(vnet):
            issues.append((("node_subnet_cidr",), f"{self.node_subnet_cidr} must lie inside the VNet {self.cidr}"))
        issues += _overlaps({"cidr": self.cidr, "pod_cidr": self.pod_cidr, "service_cidr": self.service_cidr})
        issues += self._gateway_subnet_issues(vnet)
        if issues:
            raise SpecIssues(issues)
        return self

    def _gateway_subnet_issues(self, vnet: ipaddress.IPv4Network) -> list[tuple[tuple[str | int, ...], str]]:
        gateway = ipaddress.IPv4Network(self.gateway_subnet)
        if vnet.prefixlen > 24:
            return []
        if gateway.prefixlen > 27:
            return [(("gateway_subnet_cidr",), f"/{gateway.prefixlen} is too small for a VPN gateway; Azure asks /27 or larger")]
        if not gateway.subnet_of(vnet):
            return [(("gateway_subnet_cidr",), f"{gateway} must lie inside the VNet {self.cidr}")]
        if gateway.overlaps(ipaddress.IPv4Network(self.nodes)):
            field = "gateway_subnet_cidr" if self.gateway_subnet_cidr else "node_subnet_cidr"
            return [((field,), f"the GatewaySubnet {gateway} overlaps the node subnet {self.nodes}; make them disjoint")]
        return []


def last_block(network: ipaddress.IPv4Network, prefix: int) -> ipaddress.IPv4Network:
    """`list(network.subnets(new_prefix=prefix))[-1]` without listing the others: a /16 holds 2,048 /27s, and
    listing them cost a tenth of a prod plan."""
    size = next(network.subnets(new_prefix=prefix)).num_addresses  # and subnets' ValueError for a longer prefix
    return ipaddress.IPv4Network((int(network.broadcast_address) + 1 - size, prefix))


def _azure_vm_size(value: str) -> str:
    if not re.fullmatch(r"Standard_[A-Za-z0-9_]+", value):
        raise ValueError(f"{value!r} is not an Azure VM size; Azure sizes read like Standard_D4ds_v5")
    return value


AzureVmSize = Annotated[str, AfterValidator(_azure_vm_size), schema_rule(pattern=r"^Standard_[A-Za-z0-9_]+$")]


class AksSystemPoolSpec(NodeScaling):
    """The CPU pool (AKS mode System) that runs cluster add-ons, istiod and the GPU operator's controllers."""

    vm_size: AzureVmSize = "Standard_D4ds_v5"
    min_size: int = Field(2, ge=1, le=100)
    max_size: int = Field(4, ge=1, le=100)
    disk_size_gb: int = Field(128, ge=30, le=2048)


class AksClusterSpec(ClusterEndpointSpec):
    admin_group_object_ids: list[str] = Field(
        default_factory=list,
        description="Entra ID groups that are cluster admins. Empty: the deploying identity is made cluster admin.",
    )
    deployer_principal_type: Literal["ServicePrincipal", "User"] = Field(
        "ServicePrincipal",
        description="What runs `pulumi up`: a CI service principal or managed identity, or 'User' for a person's "
        "`az login`. ARM requires the kind on the cluster-admin role assignment made when no admin groups are named.",
    )
    upgrade_channel: UpgradeChannel = Field(
        "patch", description="AKS auto-upgrade: 'patch' keeps the minor version the spec pins and applies its patches."
    )
    node_os_upgrade_channel: NodeOsUpgradeChannel = "NodeImage"
    sku_tier: Literal["Free", "Standard", "Premium"] = Field(
        "Standard", description="Standard carries the uptime SLA; Free is a named opt-out for throwaway clusters."
    )
    encryption_at_host: bool = Field(
        True,
        description="Encrypt node OS/temp disks and caches at the host (needs the subscription feature "
        "Microsoft.Compute/EncryptionAtHost registered); false is a named opt-out.",
    )
    system_pool: AksSystemPoolSpec = Field(default_factory=AksSystemPoolSpec)

    @model_validator(mode="after")
    def _group_ids(self) -> "AksClusterSpec":
        bad = [i for i, g in enumerate(self.admin_group_object_ids) if not _GUID.match(g)]
        if bad:
            raise SpecIssues([(("admin_group_object_ids", i), "must be an Entra object id (a GUID)") for i in bad])
        return self


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Blob container names: 3-63 lowercase letters, digits and single dashes (Azure Storage naming rules).
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


class AdlsDataLakeSpec(DataLakeZonesSpec):
    """ADLS Gen2: one storage account (hierarchical namespace) with a filesystem per zone."""

    redundancy: Redundancy = Field("ZRS", description="Storage redundancy: ZRS survives a zone outage; G* add a region.")
    soft_delete_retention_days: int = Field(
        30, ge=1, le=365, description="Deleted blobs and filesystems are recoverable this long (ADLS has no versioning)."
    )
    allowed_ip_ranges: list[Cidr] = Field(
        default_factory=list,
        description="Public IP ranges (e.g. CI egress) that may reach the lake; the cell's node subnet always may.",
    )

    @model_validator(mode="after")
    def _filesystem_names(self) -> "AdlsDataLakeSpec":
        issues = [
            (("zones", i), f"{zone!r} cannot name a filesystem: use 3-63 lowercase letters, digits and single dashes")
            for i, zone in enumerate(self.zones)
            if not _CONTAINER_NAME.match(zone)
        ]
        if issues:
            raise SpecIssues(issues)
        return self


# A Log Analytics workspace's retention (pay-as-you-go, PerGB2018): 30 to 730 days (Azure Monitor docs, "Manage data
# retention in a Log Analytics workspace"; ARM reference Microsoft.OperationalInsights/workspaces, retentionInDays).
LOG_ANALYTICS_MAX_RETENTION_DAYS = 730


class AzureAuditSpec(AuditSpec):
    """The cell's Log Analytics workspace (AKS and the lake's diagnostic logs) keeps logs this long."""

    retention_days: int | None = audit_retention_field(ge=AUDIT_RETENTION_DAYS, le=LOG_ANALYTICS_MAX_RETENTION_DAYS)


class AcrRegistrySpec(RegistrySpec):
    """The cell's Azure Container Registry (Premium SKU: the customer-managed key needs it)."""

    customer_managed_key: bool = Field(
        True,
        description="Encrypt the registry's images with a key in a Key Vault of the cell (through a user-assigned "
        "identity). A named opt-out: ACR takes a customer-managed key only when the registry is created, so turning "
        "it on for an existing registry replaces the registry (its images are pushed again); false keeps "
        "Microsoft-managed keys, and the policy reports it as an acknowledged exception.",
    )


class AzureCellSpec(CellBase):
    """An Azure region's cell: a VNet, an AKS cluster with GPU agent pools, an ADLS Gen2 lake and an ACR registry."""

    cloud: Literal["azure"] = "azure"
    region: AzureRegion = Field(description="An Azure region, e.g. westeurope or eastus2")
    network: AzureNetworkSpec = Field(default_factory=AzureNetworkSpec)
    cluster: AksClusterSpec = Field(default_factory=AksClusterSpec)
    data_lake: AdlsDataLakeSpec = Field(default_factory=AdlsDataLakeSpec)
    registry: AcrRegistrySpec = Field(default_factory=AcrRegistrySpec)
    audit: AzureAuditSpec = Field(default_factory=AzureAuditSpec)
    vpn: VpnSpec = Field(default_factory=VpnSpec, description="Its end of the VPN to the stack's other cells.")

    vpn_addresses = "fixed"  # an active-active VPN gateway's two public IPs (lepton_infra/spec/interconnect.py)

    def routed_cidrs(self) -> dict[tuple[str, ...], str]:
        # Nodes, internal load balancers and the API server's private endpoint are in the VNet. Overlay pods leave
        # the cluster behind their node's address (AKS docs, "Azure CNI Overlay"), so the pod range stays local.
        return {("network", "cidr"): self.network.cidr}

    def local_cidrs(self) -> dict[tuple[str, ...], str]:
        return {("network", "pod_cidr"): self.network.pod_cidr, ("network", "service_cidr"): self.network.service_cidr}

    @model_validator(mode="after")
    def _pool_names(self) -> "AzureCellSpec":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, str] = {}
        for i, pool in enumerate(self.gpu_pools):
            aks_name = aks_pool_name(pool.name)
            if problem := aks_pool_name_issue(pool.name):
                issues.append((("gpu_pools", i, "name"), problem))
            elif aks_name in seen or aks_name == SYSTEM_POOL_NAME:
                other = seen.get(aks_name, "the system pool")
                issues.append((("gpu_pools", i, "name"), f"{pool.name!r} is AKS pool {aks_name!r}, as is {other!r}"))
            seen[aks_name] = pool.name
        if issues:
            raise SpecIssues(issues)
        return self



SYSTEM_POOL_NAME = "system"


__all__ = [
    "AZURE_REGION_PATTERN",
    "AcrRegistrySpec",
    "AzureAuditSpec",
    "LOG_ANALYTICS_MAX_RETENTION_DAYS",
    "AzureRegion",
    "AzureTags",
    "AdlsDataLakeSpec",
    "AksClusterSpec",
    "AksSystemPoolSpec",
    "AzureCellSpec",
    "AzureNetworkSpec",
    "NodeOsUpgradeChannel",
    "Redundancy",
    "UpgradeChannel",
    "aks_pool_name",
    "azure_tags",
    "aks_pool_name_issue",
]
