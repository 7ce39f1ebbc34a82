"""Where a GCP cell's container logs go: Cloud Logging of the cell's project, written by a Google service account of
the log collector's Kubernetes service account (GKE workload identity) that holds roles/logging.logWriter only.

roles/logging.logWriter carries logging.logEntries.create (and route): it writes log entries and reads nothing;
Cloud Logging's IAM has no narrower grant than the project (no condition on a log's name), so the entries land in
the project's _Default bucket under the log ``DEFAULT_LOG_NAME`` with that bucket's retention. Exporter settings
(opentelemetry-collector-contrib exporter/googlecloudexporter/README.md): ``project``, ``log.default_log_name``;
credentials come from Application Default Credentials, which on GKE is the workload identity's.
"""

from __future__ import annotations

from typing import Required, TypedDict
import pulumi
import pulumi_gcp.projects as projects
from pydantic import Field

from lepton_infra.cell_contract import LogDestination
from lepton_infra.spec import ComponentArgs, DnsLabel, parse_model

from . import _project
from .workload_identity import WorkloadIdentity, WorkloadPoolCluster

TOKEN = "lepton:gcp:ContainerLogs"
EXPORTER = "googlecloud"
LOG_WRITER = "roles/logging.logWriter"
DEFAULT_LOG_NAME = "lepton-containers"


class ContainerLogsArgsDict(TypedDict, total=False):
    """ContainerLogsArgs as a plain dict: the same keys, validated the same way."""

    cluster: Required[WorkloadPoolCluster]
    namespace: Required[DnsLabel]
    service_account: Required[DnsLabel]
    account_id: str | None


class ContainerLogsArgs(ComponentArgs):
    cluster: WorkloadPoolCluster = Field(
        description="The cluster whose collector writes: a GkeCluster, or WorkloadPool(pool) for one made elsewhere."
    )
    namespace: DnsLabel
    service_account: DnsLabel
    account_id: str | None = None


class ContainerLogs(pulumi.ComponentResource):
    """The identity the cell's log collector writes to Cloud Logging as."""

    email: pulumi.Output[str]
    project: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerLogsArgs | ContainerLogsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(ContainerLogsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = WorkloadIdentity(
            f"{name}-identity",
            {
                "cluster": args.cluster,
                "namespace": args.namespace,
                "service_account": args.service_account,
                **({"account_id": args.account_id} if args.account_id else {}),
            },
            opts=child,
        )
        self.project = _project.client_config(self).project
        projects.IAMMember(f"{name}-log-writer", project=self.project, role=LOG_WRITER, member=self.identity.member, opts=child)
        self.email = self.identity.email
        self.register_outputs({"email": self.email, "project": self.project})

    @property
    def destination(self) -> LogDestination:
        return LogDestination(
            exporter=EXPORTER,
            config={"project": self.project, "log": {"default_log_name": DEFAULT_LOG_NAME}},
            binding=self.identity.binding,
            description=f"Cloud Logging, log {DEFAULT_LOG_NAME}",
        )
