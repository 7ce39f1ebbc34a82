"""Where an AWS cell's container logs go: a CloudWatch Logs group under a customer-managed key of its own (_logs.py),
kept for the spec's retention, and an IRSA role for the log collector's service account that may only create
streams in that group and put events into them. Its ``destination`` is what the in-cluster collector needs
(lepton_infra.cell_contract.LogDestination): the contrib ``awscloudwatchlogs`` exporter's settings and the binding.

Exporter settings (opentelemetry-collector-contrib exporter/awscloudwatchlogsexporter/README.md): ``log_group_name``
and ``log_stream_name`` are required, ``region`` is where the group is; credentials come from the AWS SDK's default
chain, which reads IRSA's web identity token. One stream per node: the chart sets OTEL_K8S_NODE_NAME on its pods
(values.yaml ``config.service.telemetry.resource`` reads it). IAM (Service Authorization Reference, Amazon
CloudWatch Logs): CreateLogStream acts on the log-group resource, PutLogEvents on log-stream resources
(``<log group ARN>:log-stream:<name>``); the group exists, so the exporter never needs CreateLogGroup.
"""

from __future__ import annotations

from typing import Mapping, Required, TypedDict
import json
from dataclasses import replace

import pulumi
from pydantic import Field

from lepton_infra.cell_contract import LogDestination
from lepton_infra.conventions import physical_name
from lepton_infra.spec import ComponentArgs, DnsLabel, parse_model

from . import _iam, _logs
from .workload_identity import OidcTrust, WorkloadIdentity

TOKEN = "lepton:aws:ContainerLogs"
EXPORTER = "awscloudwatchlogs"
WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
STREAM_PER_NODE = "${env:OTEL_K8S_NODE_NAME}"


def write_policy(log_group_arn: str) -> str:
    """Create streams in and put events into the one log group; nothing else (no read, no other group)."""
    group = log_group_arn.removesuffix(":*")
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WriteContainerLogs",
            "Effect": "Allow",
            "Action": list(WRITE_ACTIONS),
            "Resource": [group, f"{group}:log-stream:*"],
        }],
    })


class ContainerLogsArgsDict(TypedDict, total=False):
    """ContainerLogsArgs as a plain dict: the same keys, validated the same way."""

    cluster: Required[OidcTrust]
    namespace: Required[DnsLabel]
    service_account: Required[DnsLabel]
    log_group_name: Required[str]
    retention_days: Required[int]
    region: Required[str]
    role_name: str | None
    protected: bool
    tags: Mapping[str, str]


class ContainerLogsArgs(ComponentArgs):
    cluster: OidcTrust = Field(description="The EKS cluster whose log collector writes (its OIDC provider).")
    namespace: DnsLabel
    service_account: DnsLabel
    log_group_name: str = Field(pattern=r"^[A-Za-z0-9_./#-]{1,512}$", description="CloudWatch Logs group name.")
    retention_days: int
    region: str
    role_name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9+=,.@_-]{0,63}$")
    protected: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class ContainerLogs(pulumi.ComponentResource):
    """The cell's container log group and the identity that may write to it."""

    log_group_name: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerLogsArgs | ContainerLogsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(ContainerLogsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        group, _ = _logs.encrypted_log_group(
            self,
            f"{name}-group",
            account=_iam.aws_account(self),
            log_group_name=args.log_group_name,
            retention_in_days=args.retention_days,
            tags=args.tags,
            protected=args.protected,
        )
        identity_name = f"{name}-identity"
        self.identity = WorkloadIdentity(
            identity_name,
            {
                "cluster": args.cluster,
                "namespace": args.namespace,
                "service_account": args.service_account,
                "role_name": args.role_name or physical_name(identity_name, max_length=64),
                "tags": args.tags,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.identity.attach_policy("write-container-logs", group.arn.apply(write_policy))
        self._region, self._group = args.region, args.log_group_name
        self.log_group_name = group.name
        self.log_group_arn = group.arn
        self.role_arn = self.identity.role_arn
        self.register_outputs({"log_group_name": self.log_group_name, "log_group_arn": self.log_group_arn, "role_arn": self.role_arn})

    @property
    def destination(self) -> LogDestination:
        return LogDestination(
            exporter=EXPORTER,
            config={"log_group_name": self.log_group_name, "log_stream_name": STREAM_PER_NODE, "region": self._region},
            # The AWS SDK in the collector finds the region here too.
            binding=replace(self.identity.binding, env={"AWS_REGION": self._region}),
            description=f"CloudWatch Logs group {self._group} ({self._region})",
        )
