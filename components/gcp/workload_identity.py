"""Workload Identity Federation for GKE: a Google service account that exactly one Kubernetes service account may
act as.

The Google service account grants roles/iam.workloadIdentityUser to the single member
``serviceAccount:<project>.svc.id.goog[<namespace>/<service account>]`` (the cluster's workload pool), and the
Kubernetes service account carries the annotation ``iam.gke.io/gcp-service-account: <email>``
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#kubernetes-sa-to-iam). Nodes run the GKE
metadata server, which hands the pod that identity's tokens. Permissions come from grants (``DataLake.grant_read``),
never from roles written at the call site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Required, TypedDict, runtime_checkable

import pulumi
import pulumi_gcp.serviceaccount as serviceaccount
from pydantic import Field

from lepton_infra.cell_contract import IdentityBinding
from lepton_infra.spec import ComponentArgs, DnsLabel, parse_model

from . import _project
from ._names import ACCOUNT_ID_MAX, account_id

TOKEN = "lepton:gcp:WorkloadIdentity"
SERVICE_ACCOUNT_ANNOTATION = "iam.gke.io/gcp-service-account"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"


@runtime_checkable
class WorkloadPoolCluster(Protocol):
    """What the identity trusts: a cluster's workload pool, <project>.svc.id.goog. A GkeCluster is one;
    WorkloadPool names another's."""

    @property
    def workload_pool(self) -> pulumi.Input[str]: ...


@dataclass(frozen=True)
class WorkloadPool:
    """The workload pool of a cluster made elsewhere (every GKE cluster of a project shares <project>.svc.id.goog)."""

    workload_pool: pulumi.Input[str]


class WorkloadIdentityArgsDict(TypedDict, total=False):
    """WorkloadIdentityArgs as a plain dict: the same keys, validated the same way."""

    cluster: Required[WorkloadPoolCluster]
    namespace: Required[DnsLabel]
    service_account: Required[DnsLabel]
    account_id: str | None


class WorkloadIdentityArgs(ComponentArgs):
    cluster: WorkloadPoolCluster = Field(
        description="The cluster whose service account acts as the Google one: a GkeCluster, or WorkloadPool(pool)."
    )
    namespace: DnsLabel
    service_account: DnsLabel
    account_id: str | None = Field(
        None,
        pattern=rf"^[a-z][-a-z0-9]{{4,{ACCOUNT_ID_MAX - 2}}}[a-z0-9]$",
        description="The Google service account's id (6-30 lowercase letters, digits and '-', a letter first). "
        "Default: <stack>-<resource name>, shortened with a hash.",
    )


def workload_member(workload_pool: str, namespace: str, service_account: str) -> str:
    """The IAM member of one Kubernetes service account of a cluster's workload pool."""
    return f"serviceAccount:{workload_pool}[{namespace}/{service_account}]"


class WorkloadIdentity(pulumi.ComponentResource):
    """A Google service account for one Kubernetes service account; a Grantee of the GCP data lake."""

    cloud = "gcp"
    email: pulumi.Output[str]
    member: pulumi.Output[str]
    service_account_annotations: pulumi.Output[dict]

    def __init__(
        self, name: str, args: WorkloadIdentityArgs | WorkloadIdentityArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(WorkloadIdentityArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self.resource_name = name
        child = pulumi.ResourceOptions(parent=self)

        account = serviceaccount.Account(
            f"{name}-account",
            account_id=args.account_id or account_id(pulumi.get_stack(), name),
            display_name=f"Workload identity of {args.namespace}/{args.service_account}",
            opts=child,
        )
        serviceaccount.IAMMember(
            f"{name}-workload-identity-user",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=pulumi.Output.from_input(args.cluster.workload_pool).apply(
                lambda pool: workload_member(pool, args.namespace, args.service_account)
            ),
            opts=child,
        )
        self.email = account.email
        self.member = _project.member(account.email)
        self.service_account_annotations = account.email.apply(lambda email: {SERVICE_ACCOUNT_ANNOTATION: email})
        self._project = pulumi.Output.from_input(args.cluster.workload_pool).apply(lambda pool: pool.removesuffix(".svc.id.goog"))
        self.register_outputs(
            {"email": self.email, "member": self.member, "service_account_annotations": self.service_account_annotations}
        )

    @property
    def binding(self) -> IdentityBinding:
        """GKE needs only the annotation; GOOGLE_CLOUD_PROJECT names the project for Google's client libraries."""
        return IdentityBinding(
            service_account_annotations=self.service_account_annotations,
            env={"GOOGLE_CLOUD_PROJECT": self._project},
        )
