"""IRSA: an IAM role that exactly one Kubernetes service account may assume through the cluster's OIDC provider.

EKS IAM roles for service accounts: the role's trust policy federates the cluster's OIDC provider and pins the
token's ``sub`` to ``system:serviceaccount:<namespace>:<name>`` and its ``aud`` to ``sts.amazonaws.com``
(https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html). The pod's service account
carries the annotation ``eks.amazonaws.com/role-arn`` so the EKS pod identity webhook injects the web identity token.
Permissions come from grants (e.g. ``DataLake.grant_read``), never from hand-written JSON at the call site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Required, TypedDict, runtime_checkable

import pulumi
import pulumi_aws.iam as iam
from pydantic import Field

from lepton_infra.cell_contract import IdentityBinding
from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import ComponentArgs, DnsLabel, PulumiInput, parse_model

from . import _iam

TOKEN = "lepton:aws:WorkloadIdentity"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
# Inline policy names may be up to 128 characters (IAM quotas).
_INLINE_POLICY_NAME_MAX = 128


@runtime_checkable
class OidcTrust(Protocol):
    """What an IRSA role trusts: a cluster's IAM OIDC provider. An EksCluster is one; OidcProvider names another's."""

    @property
    def oidc_provider_arn(self) -> pulumi.Input[str]: ...

    @property
    def oidc_issuer(self) -> pulumi.Input[str]: ...


@dataclass(frozen=True)
class OidcProvider:
    """The IAM OIDC provider of a cluster made elsewhere: its ARN and issuer (with or without https://)."""

    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]


class WorkloadIdentityArgsDict(TypedDict, total=False):
    """WorkloadIdentityArgs as a plain dict: the same keys, validated the same way."""

    cluster: Required[OidcTrust]
    namespace: Required[DnsLabel]
    service_account: Required[DnsLabel]
    role_name: str | None
    tags: Mapping[str, str]


class WorkloadIdentityArgs(ComponentArgs):
    cluster: OidcTrust = Field(
        description="The cluster whose service account assumes the role: an EksCluster, or OidcProvider(arn, issuer)."
    )
    namespace: DnsLabel
    service_account: DnsLabel
    role_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9+=,.@_-]{0,63}$",
        description="The IAM role's name: up to 64 lowercase letters, digits and +=,.@_- (IAM's characters). Default: "
        "<stack>-<resource name>, so the same identity in two stacks of one account never collides.",
    )
    tags: dict[str, str] = Field(default_factory=dict)


class WorkloadIdentity(pulumi.ComponentResource):
    """An IAM role for one service account; annotate the service account with ``service_account_annotations``.

    A :class:`~lepton_infra.cell_contract.Grantee`: ``DataLake.grant_read(identity, zone)`` gives it access.
    """

    cloud = "aws"

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    service_account_annotations: pulumi.Output[dict]

    def __init__(
        self, name: str, args: WorkloadIdentityArgs | WorkloadIdentityArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(WorkloadIdentityArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name = name

        # The condition keys are the issuer without its scheme; an issuer URL passed as-is would never match.
        issuer = pulumi.Output.from_input(args.cluster.oidc_issuer).apply(lambda url: url.removeprefix("https://"))
        self.role, _ = _iam.role(
            self,
            f"{name}-role",
            physical=(args.role_name or stack_scoped_name(pulumi.get_stack(), name, max_length=_iam.ROLE_NAME_MAX),),
            trust_policy=_iam.oidc_trust_policy(args.cluster.oidc_provider_arn, issuer, args.namespace, args.service_account),
            description=f"IRSA role for service account {args.namespace}/{args.service_account}",
            tags=args.tags,
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.service_account_annotations = self.role.arn.apply(lambda arn: {ROLE_ARN_ANNOTATION: arn})
        self.register_outputs(
            {
                "role_arn": self.role_arn,
                "role_name": self.role_name,
                "service_account_annotations": self.service_account_annotations,
            }
        )

    @property
    def binding(self) -> IdentityBinding:
        """What a pod needs to act as this role: the service account's role-arn annotation."""
        return IdentityBinding(service_account_annotations=self.service_account_annotations)

    def attach_policy(self, name: str, policy_document_json: pulumi.Input[str]) -> iam.RolePolicy:
        """Attach an inline policy (the grant pattern's landing point); ``name`` must be unique per identity."""
        return iam.RolePolicy(
            f"{self._resource_name}-{name}",
            name=physical_name(name, max_length=_INLINE_POLICY_NAME_MAX),
            role=self.role.name,
            policy=policy_document_json,
            opts=pulumi.ResourceOptions(parent=self),
        )
