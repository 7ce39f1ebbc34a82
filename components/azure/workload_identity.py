"""Microsoft Entra Workload ID: a user-assigned managed identity that exactly one Kubernetes service account may use.

A federated identity credential on the identity trusts the cluster's OIDC issuer for the token whose subject is
``system:serviceaccount:<namespace>:<name>`` and audience ``api://AzureADTokenExchange``
(AKS docs, "Use Microsoft Entra Workload ID with AKS": https://learn.microsoft.com/azure/aks/workload-identity-overview).
A pod uses it when its service account carries ``azure.workload.identity/client-id`` and the pod the label
``azure.workload.identity/use: "true"``: the workload identity webhook then projects the token and injects
AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, which azure-identity's
DefaultAzureCredential reads. AZURE_CLIENT_ID is left to the webhook (it takes it from the annotation, so the two
can never disagree). Permissions come from grants (``DataLake.grant_read``), never from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Required, TypedDict, runtime_checkable

import pulumi
import pulumi_azure_native.managedidentity as managedidentity
from pydantic import Field

from lepton_infra.cell_contract import IdentityBinding
from lepton_infra.conventions import stack_scoped_name
from lepton_infra.spec import ComponentArgs, DnsLabel, PulumiInput, parse_model
from lepton_infra.spec.azure import AzureTags

from . import _roles

TOKEN = "lepton:azure:WorkloadIdentity"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# adlfs (the abfs:// filesystem the serving image reads models with) tries anonymous access unless told otherwise;
# "false" makes it use DefaultAzureCredential, i.e. this identity (adlfs README, "Setting credentials").
ADLFS_ENV = {"AZURE_STORAGE_ANON": "false"}
# User-assigned identity names: 3-128 letters, digits, '-' and '_', starting with a letter or digit.
IDENTITY_NAME_MAX = 128


@runtime_checkable
class FederatedCluster(Protocol):
    """What the identity federates: a cluster's OIDC issuer. An AksCluster is one; OidcIssuer names another's."""

    @property
    def oidc_issuer_url(self) -> pulumi.Input[str]: ...


@dataclass(frozen=True)
class OidcIssuer:
    """The OIDC issuer URL of a cluster made elsewhere."""

    oidc_issuer_url: pulumi.Input[str]


class WorkloadIdentityArgsDict(TypedDict, total=False):
    """WorkloadIdentityArgs as a plain dict: the same keys, validated the same way."""

    resource_group_name: Required[PulumiInput[str]]
    cluster: Required[FederatedCluster]
    namespace: Required[DnsLabel]
    service_account: Required[DnsLabel]
    identity_name: str | None
    tags: AzureTags


class WorkloadIdentityArgs(ComponentArgs):
    resource_group_name: PulumiInput[str]
    cluster: FederatedCluster = Field(description="The cluster whose service account uses the identity: an AksCluster, or OidcIssuer(url).")
    namespace: DnsLabel
    service_account: DnsLabel
    identity_name: str | None = Field(
        None,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$",
        description="The managed identity's name. Default: <stack>-<resource name>.",
    )
    tags: AzureTags = Field(default_factory=dict)


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


class WorkloadIdentity(pulumi.ComponentResource):
    """A managed identity federated to one service account; pods use it through ``binding``."""

    cloud = "azure"
    identity_id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    service_account_annotations: pulumi.Output[dict]

    def __init__(
        self, name: str, args: WorkloadIdentityArgs | WorkloadIdentityArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(WorkloadIdentityArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name = name
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            name,
            resource_name_=args.identity_name or stack_scoped_name(pulumi.get_stack(), name, max_length=IDENTITY_NAME_MAX),
            resource_group_name=args.resource_group_name,
            tags=args.tags,
            opts=child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"{args.namespace}-{args.service_account}",
            resource_name_=identity.name,
            resource_group_name=args.resource_group_name,
            issuer=args.cluster.oidc_issuer_url,
            subject=subject(args.namespace, args.service_account),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        self.identity_id = identity.id
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.tenant_id = identity.tenant_id
        self.service_account_annotations = identity.client_id.apply(lambda c: {CLIENT_ID_ANNOTATION: c})
        self.register_outputs(
            {
                "identity_id": self.identity_id,
                "client_id": self.client_id,
                "principal_id": self.principal_id,
                "service_account_annotations": self.service_account_annotations,
            }
        )

    @property
    def binding(self) -> IdentityBinding:
        """What a pod needs to act as this identity: the annotation, the webhook's label, adlfs's switch."""
        return IdentityBinding(
            service_account_annotations=self.service_account_annotations,
            pod_labels={USE_LABEL: "true"},
            env=dict(ADLFS_ENV),
        )

    def assign_role(self, name: str, *, role: str, scope: pulumi.Input[str], subscription_id: pulumi.Input[str]):
        """Grant this identity ``role`` on ``scope`` (the grant pattern's landing point); ``name`` unique per identity."""
        return _roles.assign(
            self,
            f"{self._resource_name}-{name}",
            role=role,
            principal_id=self.principal_id,
            scope=scope,
            subscription_id=subscription_id,
        )
