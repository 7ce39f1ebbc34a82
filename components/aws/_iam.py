"""IAM documents and roles the AWS components share, so no component hand-writes the same JSON twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws.iam as iam
from pulumi_aws import get_caller_identity_output, get_partition_output, get_region_output

from lepton_infra.conventions import physical_name

# IAM role names are limited to 64 characters (IAM quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
ROLE_NAME_MAX = 64


@dataclass(frozen=True)
class AwsAccount:
    """Where a component's ARNs live: its provider's partition, region and account, looked up once per component."""

    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    account_id: pulumi.Output[str]


def aws_account(parent: pulumi.Resource) -> AwsAccount:
    """Invokes under ``parent``, so the answers follow the parent's provider (region, credentials)."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    return AwsAccount(
        partition=get_partition_output(opts=invoke).partition,
        region=get_region_output(opts=invoke).region,
        account_id=get_caller_identity_output(opts=invoke).account_id,
    )


def service_trust_policy(service: str, conditions: Mapping[str, Any] | None = None) -> pulumi.Output[str]:
    """A trust policy letting one AWS service principal assume the role, optionally fenced by conditions."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return pulumi.Output.from_input(dict(conditions or {})).apply(
        lambda c: json.dumps({"Version": "2012-10-17", "Statement": [{**statement, **({"Condition": c} if c else {})}]})
    )


def oidc_trust_policy(
    oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """IRSA: only one Kubernetes service account, via the cluster's OIDC provider, for the STS audience."""
    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda a: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": a[0]},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{a[1]}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{a[1]}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            }
        )
    )


def role(
    parent: pulumi.Resource,
    name: str,
    *,
    physical: Sequence[str],
    trust_policy: pulumi.Input[str],
    managed_policy_arns: Sequence[str] = (),
    description: str,
    tags: Mapping[str, str],
) -> tuple[iam.Role, list[iam.RolePolicyAttachment]]:
    """A role with a length-safe physical name and its AWS-managed policy attachments (each its own resource)."""
    opts = pulumi.ResourceOptions(parent=parent)
    created = iam.Role(
        name,
        name=physical_name(*physical, max_length=ROLE_NAME_MAX),
        assume_role_policy=trust_policy,
        description=description,
        tags=dict(tags),
        opts=opts,
    )
    attachments = [
        iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=created.name, policy_arn=arn, opts=opts)
        for arn in managed_policy_arns
    ]
    return created, attachments
