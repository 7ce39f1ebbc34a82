"""Answers of the Azure Native provider (pulumi_azure_native): ARM ids, endpoints and identities as Azure gives them.

Resource ids are ARM ids (/subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>), principals
and clients are GUIDs, endpoints carry the account or vault name as Azure's DNS does, and an AKS cluster's user
credentials are a base64 kubeconfig in the exec format AKS returns for Entra ID clusters (kubelogin).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Callable, Mapping

import yaml

from ._shapes import fake_pem, hex_of, named

PREFIX = "azure-native"
SUBSCRIPTION_ID = "8d2c6a3e-5b1f-4c7d-9e0a-2f4b6c8d1e3a"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
# The identity that runs `pulumi up` (a CI service principal): its object id receives deployer role assignments.
DEPLOYER_CLIENT_ID = "a8c4e2f0-6b1d-4f3a-9e7c-0d5b3a1f8e62"
DEPLOYER_OBJECT_ID = "3f1a9c2e-7d4b-4e8f-a6c1-5b2d9e0f4a7c"
DEFAULT_LOCATION = "westeurope"
# AKS's first-party Entra applications, the same in every tenant (kubelogin docs, "Using kubelogin with AKS").
AKS_AAD_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_AAD_CLIENT_APP_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"


def guid(seed: str) -> str:
    return str(uuid.UUID(hex_of(seed, 32)))


def arm_id(resource_group: str, provider: str, path: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{resource_group}/providers/{provider}/{path}"


def _group(inputs: Mapping[str, Any]) -> str:
    return inputs.get("resourceGroupName") or "rg"


def _simple(provider: str, kind: str, key: str):
    """A resource named by ``key`` (or auto-named), living directly under its resource group."""

    def handler(m, name, inputs, region):
        physical = named(inputs, name, key)
        return arm_id(_group(inputs), provider, f"{kind}/{physical}"), {"name": physical, "location": inputs.get("location", region)}

    return handler


def _nested(provider: str, parent: str, parent_key: str, kind: str, key: str, extra: Mapping[str, Any] | None = None):
    """A resource under another one (a subnet of a VNet, an agent pool of a cluster), named by ``key``."""

    def handler(m, name, inputs, region):
        physical = named(inputs, name, key)
        path = f"{parent}/{inputs.get(parent_key, parent_key)}/{kind}/{physical}"
        return arm_id(_group(inputs), provider, path), {"name": physical, **(extra or {})}

    return handler


def _resource_group(m, name, inputs, region):
    physical = named(inputs, name, "resourceGroupName")
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{physical}", {
        "name": physical,
        "location": inputs.get("location", region),
        "properties": {"provisioningState": "Succeeded"},
    }


def _identity(m, name, inputs, region):
    physical = named(inputs, name, "resourceName")
    rid = arm_id(_group(inputs), "Microsoft.ManagedIdentity", f"userAssignedIdentities/{physical}")
    return rid, {
        "name": physical,
        "location": inputs.get("location", region),
        "clientId": guid("client" + rid),
        "principalId": guid("principal" + rid),
        "tenantId": TENANT_ID,
    }


def _role_assignment(m, name, inputs, region):
    assignment = inputs.get("roleAssignmentName") or guid(f"{name}{inputs.get('scope')}{inputs.get('principalId')}")
    scope = inputs.get("scope", f"/subscriptions/{SUBSCRIPTION_ID}")
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}", {
        "name": assignment,
        "principalType": inputs.get("principalType", "ServicePrincipal"),
    }


def _storage_account(m, name, inputs, region):
    physical = named(inputs, name, "accountName").replace("-", "")[:24]
    endpoints = {svc: f"https://{physical}.{svc}.core.windows.net/" for svc in ("blob", "dfs", "file", "queue", "table", "web")}
    return arm_id(_group(inputs), "Microsoft.Storage", f"storageAccounts/{physical}"), {
        "name": physical,
        "location": inputs.get("location", region),
        "primaryEndpoints": endpoints,
        "primaryLocation": inputs.get("location", region),
        "provisioningState": "Succeeded",
    }


def _blob_child(path: str, key: str | None):
    """Blob service children: filesystems (containers), service properties and the lifecycle policy."""

    def handler(m, name, inputs, region):
        physical = inputs.get(key) if key else "default"
        physical = physical or f"{name}-{hex_of(name, 7)}"
        account = inputs.get("accountName", "account")
        rid = arm_id(_group(inputs), "Microsoft.Storage", f"storageAccounts/{account}/{path.format(physical)}")
        return rid, {"name": physical}

    return handler


def _vault(m, name, inputs, region):
    physical = named(inputs, name, "vaultName")
    properties = {**(inputs.get("properties") or {}), "vaultUri": f"https://{physical}.vault.azure.net/"}
    return arm_id(_group(inputs), "Microsoft.KeyVault", f"vaults/{physical}"), {
        "name": physical,
        "location": inputs.get("location", region),
        "properties": properties,
    }


def _key(m, name, inputs, region):
    physical = named(inputs, name, "keyName")
    vault = inputs.get("vaultName", "vault")
    uri = f"https://{vault}.vault.azure.net/keys/{physical}"
    return arm_id(_group(inputs), "Microsoft.KeyVault", f"vaults/{vault}/keys/{physical}"), {
        "name": physical,
        "keyUri": uri,
        "keyUriWithVersion": f"{uri}/{hex_of(uri, 32)}",
    }


def _registry(m, name, inputs, region):
    physical = named(inputs, name, "registryName")
    return arm_id(_group(inputs), "Microsoft.ContainerRegistry", f"registries/{physical}"), {
        "name": physical,
        "location": inputs.get("location", region),
        "loginServer": f"{physical.lower()}.azurecr.io",
        "provisioningState": "Succeeded",
    }


def _cluster_endpoints(resource_group: str, cluster: str, region: str) -> dict[str, str]:
    """AKS's API server names: <dnsprefix>-<hash>.hcp.<region>.azmk8s.io, and a privatelink name when private."""
    seed = hex_of(f"{resource_group}/{cluster}", 8)
    return {
        "fqdn": f"{cluster}-{seed}.hcp.{region}.azmk8s.io",
        "privateFQDN": f"{cluster}-{seed}.{guid(seed)}.privatelink.{region}.azmk8s.io",
    }


def _managed_cluster(m, name, inputs, region):
    physical = named(inputs, name, "resourceName")
    group = _group(inputs)
    rid = arm_id(group, "Microsoft.ContainerService", f"managedClusters/{physical}")
    endpoints = _cluster_endpoints(group, physical, region)
    access = inputs.get("apiServerAccessProfile") or {}
    private = bool(access.get("enablePrivateCluster"))
    # A private cluster also has a public FQDN (resolving to its private address) unless it is turned off.
    public_fqdn = not private or access.get("enablePrivateClusterPublicFQDN", True) is not False
    node_group = f"MC_{group}_{physical}_{region}"
    kubelet = arm_id(node_group, "Microsoft.ManagedIdentity", f"userAssignedIdentities/{physical}-agentpool")
    m.__dict__.setdefault("aks_clusters", {})[(group, physical)] = {"region": region, "private": private, **endpoints}
    return rid, {
        "name": physical,
        "location": inputs.get("location", region),
        "fqdn": endpoints["fqdn"] if public_fqdn else "",
        "privateFQDN": endpoints["privateFQDN"] if private else "",
        "azurePortalFQDN": f"{physical}-portal.hcp.{region}.azmk8s.io",
        "nodeResourceGroup": node_group,
        "currentKubernetesVersion": f"{inputs.get('kubernetesVersion', '1.35')}.2",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "oidcIssuerProfile": {
            **(inputs.get("oidcIssuerProfile") or {}),
            "issuerURL": f"https://{region}.oic.prod-aks.azure.com/{TENANT_ID}/{guid('oidc' + rid)}/",
        },
        "identityProfile": {
            "kubeletidentity": {
                "clientId": guid("kubelet-client" + rid),
                "objectId": guid("kubelet-object" + rid),
                "resourceId": kubelet,
            }
        },
    }


def _with_identity(handler):
    """Azure answers a resource's ``identity`` with user-assigned identities as a map of id -> {clientId,
    principalId}, and a system-assigned one's principal; programs send the ids as a list."""

    def answer(m, name, inputs, region):
        rid, extra = handler(m, name, inputs, region)
        identity = inputs.get("identity")
        if not isinstance(identity, Mapping):
            return rid, extra
        answered = {**identity, "tenantId": TENANT_ID}
        if ids := identity.get("userAssignedIdentities"):
            answered["userAssignedIdentities"] = {
                i: {"clientId": guid("client" + i), "principalId": guid("principal" + i)} for i in ids
            }
        if "SystemAssigned" in str(identity.get("type", "")):
            answered["principalId"] = guid("system" + rid)
        return rid, {**extra, "identity": answered}

    return answer


def _workspace(m, name, inputs, region):
    rid, extra = _simple("Microsoft.OperationalInsights", "workspaces", "workspaceName")(m, name, inputs, region)
    return rid, {**extra, "customerId": guid("workspace" + rid), "provisioningState": "Succeeded"}


def _extension(kind: str, key: str):
    """An extension resource (a diagnostic setting, a rule association): its id hangs off the resource it configures."""

    def handler(m, name, inputs, region):
        physical = named(inputs, name, key)
        return f"{inputs.get('resourceUri', '')}/providers/Microsoft.Insights/{kind}/{physical}", {"name": physical}

    return handler


def _data_collection_rule(m, name, inputs, region):
    rid, extra = _simple("Microsoft.Insights", "dataCollectionRules", "dataCollectionRuleName")(m, name, inputs, region)
    return rid, {**extra, "immutableId": "dcr-" + hex_of(rid, 32), "provisioningState": "Succeeded"}


def _public_ip(m, name, inputs, region):
    rid, extra = _simple("Microsoft.Network", "publicIPAddresses", "publicIpAddressName")(m, name, inputs, region)
    address = f"20.{int(hex_of(name, 2), 16)}.{int(hex_of(name + 'b', 2), 16)}.{int(hex_of(name + 'c', 2), 16) % 254 + 1}"
    return rid, {**extra, "ipAddress": address, "provisioningState": "Succeeded"}


def _with_id(handler):
    """The ARM id among the outputs too, as azure-native's outputs carry it (what a VPN's parts refer to each other by)."""

    def answer(m, name, inputs, region):
        rid, extra = handler(m, name, inputs, region)
        return rid, {**extra, "id": rid}

    return answer


RESOURCES: dict[str, Callable[..., tuple[str, dict]]] = {
    "azure-native:network:PublicIPAddress": _with_id(_public_ip),
    "azure-native:network:VirtualNetworkGateway": _with_id(
        _simple("Microsoft.Network", "virtualNetworkGateways", "virtualNetworkGatewayName")
    ),
    "azure-native:network:LocalNetworkGateway": _with_id(
        _simple("Microsoft.Network", "localNetworkGateways", "localNetworkGatewayName")
    ),
    "azure-native:network:VirtualNetworkGatewayConnection": _with_id(
        _simple("Microsoft.Network", "connections", "virtualNetworkGatewayConnectionName")
    ),
    "azure-native:network:NetworkSecurityGroup": _with_id(
        _simple("Microsoft.Network", "networkSecurityGroups", "networkSecurityGroupName")
    ),
    "azure-native:network:SecurityRule": _nested(
        "Microsoft.Network", "networkSecurityGroups", "networkSecurityGroupName", "securityRules", "securityRuleName"
    ),
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:network:VirtualNetwork": _simple("Microsoft.Network", "virtualNetworks", "virtualNetworkName"),
    "azure-native:network:Subnet": _nested(
        "Microsoft.Network", "virtualNetworks", "virtualNetworkName", "subnets", "subnetName", {"provisioningState": "Succeeded"}
    ),
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:managedidentity:FederatedIdentityCredential": _nested(
        "Microsoft.ManagedIdentity", "userAssignedIdentities", "resourceName", "federatedIdentityCredentials",
        "federatedIdentityCredentialResourceName",
    ),
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:storage:BlobContainer": _blob_child("blobServices/default/containers/{}", "containerName"),
    "azure-native:storage:BlobServiceProperties": _blob_child("blobServices/{}", None),
    "azure-native:storage:ManagementPolicy": _blob_child("managementPolicies/{}", None),
    "azure-native:keyvault:Vault": _vault,
    "azure-native:keyvault:Key": _key,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:operationalinsights:Workspace": _workspace,
    "azure-native:monitor:DiagnosticSetting": _extension("diagnosticSettings", "name"),
    "azure-native:monitor:DataCollectionRule": _data_collection_rule,
    "azure-native:monitor:DataCollectionRuleAssociation": _extension("dataCollectionRuleAssociations", "associationName"),
    "azure-native:containerservice:AgentPool": _nested(
        "Microsoft.ContainerService", "managedClusters", "resourceName", "agentPools", "agentPoolName",
        {"provisioningState": "Succeeded", "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202611.04.0"},
    ),
}
RESOURCES = {token: _with_identity(handler) for token, handler in RESOURCES.items()}


def _client_config(m, args, region):
    return {"clientId": DEPLOYER_CLIENT_ID, "objectId": DEPLOYER_OBJECT_ID, "subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID}


def fake_jwt(claims: Mapping[str, Any]) -> str:
    """An unsigned JWT of ``claims``: the shape of an Entra access token, good for nothing."""
    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.{hex_of(str(claims), 43)}"


def _client_token(m, args, region):
    audience = args.get("endpoint") or "https://management.azure.com/"
    return {"token": fake_jwt({"aud": audience, "tid": TENANT_ID, "oid": DEPLOYER_OBJECT_ID, "appid": DEPLOYER_CLIENT_ID})}


REGISTRY_AUDIENCE = "https://containerregistry.azure.net"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def acr_refresh_token(login_server: str, tenant_id: str, entra_token: str) -> str:
    """What a registry's POST /oauth2/exchange answers (components/azure/registry.py calls it, through
    lepton_infra.outbound: it is no invoke):
    an ACR refresh token for the token's principal, or a refusal of a token not issued for the registry, as a
    registry with ARM-audience tokens disabled refuses them."""
    claims = jwt_claims(entra_token)
    if claims.get("aud") != REGISTRY_AUDIENCE:
        raise ValueError(f"{login_server} refuses a token for audience {claims.get('aud')!r}; it takes {REGISTRY_AUDIENCE}")
    return fake_jwt(
        {
            "iss": "Azure Container Registry",
            "aud": login_server,
            "tenant": tenant_id,
            "sub": claims.get("oid"),
            "grant_type": "refresh_token",
        }
    )


def user_kubeconfig(cluster: str, resource_group: str, server: str) -> str:
    """The kubeconfig AKS returns for an Entra ID cluster with format=exec: kubelogin, device code login."""
    user = f"clusterUser_{resource_group}_{cluster}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "certificate-authority-data": base64.b64encode(fake_pem(cluster).encode()).decode(),
                        "server": f"https://{server}:443",
                    },
                }
            ],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
            "current-context": cluster,
            "preferences": {},
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "kubelogin",
                            "args": [
                                "get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_AAD_SERVER_APP_ID,
                                "--client-id", AKS_AAD_CLIENT_APP_ID, "--tenant-id", TENANT_ID, "--login", "devicecode",
                            ],
                            "env": None,
                            "provideClusterInfo": False,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )


def _user_credentials(m, args, region):
    group, cluster = args.get("resourceGroupName", "rg"), args.get("resourceName", "cluster")
    known = m.__dict__.get("aks_clusters", {}).get((group, cluster))
    known = known or {"private": False, **_cluster_endpoints(group, cluster, region)}
    server = known["privateFQDN"] if known["private"] else known["fqdn"]
    config = user_kubeconfig(cluster, group, server)
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(config.encode()).decode()}]}


INVOKES: dict[str, Callable[..., dict]] = {
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:authorization:getClientToken": _client_token,
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
}
# Calls the program makes itself (lepton_infra.outbound): the name is components/azure/registry.py's EXCHANGE_CALL.
OUTBOUND: dict[str, Callable[..., Any]] = {
    "azure-native:containerregistry/oauth2:exchange": acr_refresh_token,
}
