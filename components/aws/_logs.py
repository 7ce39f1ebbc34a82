"""CloudWatch log groups encrypted with a customer-managed KMS key of their own, shared by the AWS components.

CloudWatch Logs encrypts every log group, but only with an AWS-owned key unless the group names a KMS key; the
project's default is customer-managed keys that rotate. The key policy follows the CloudWatch Logs user guide,
"Encrypt log data in CloudWatch Logs using AWS KMS", Step 2 "Set permissions on the key"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, source:
github.com/awsdocs/amazon-cloudwatch-logs-user-guide doc_source/encrypt-log-data-kms.md):
- the account root may do kms:* on the key, so IAM policies in the account keep it manageable (KMS refuses a
  policy that would lock its creator out);
- the regional CloudWatch Logs service principal logs.<region>.amazonaws.com (the guide: "must be in the same
  Region where the key is stored") may use it, only under ArnEquals on the encryption context
  kms:EncryptionContext:aws:logs:arn = the one log group's ARN: the guide's single-log-group example, and its
  advice to use a different key for each encrypted log group.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.kms as kms
from .._resource_options import data_options
from ._iam import AwsAccount
from ._kms import customer_managed_key

LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")
LOGS_ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:logs:arn"


def log_group_arn(partition: str, region: str, account_id: str, log_group_name: str) -> str:
    """The ARN CloudWatch Logs puts in the encryption context (no trailing ``:*``)."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"


def log_group_key_policy(partition: str, region: str, account_id: str, log_group_name: str) -> str:
    """Key policy: the account administers the key; CloudWatch Logs may use it for this one log group only."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EnableIAMUserPermissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "AllowCloudWatchLogsForOneLogGroup",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": list(LOGS_KEY_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnEquals": {LOGS_ENCRYPTION_CONTEXT: log_group_arn(partition, region, account_id, log_group_name)}
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def encrypted_log_group(
    parent: pulumi.Resource,
    name: str,
    *,
    account: AwsAccount,
    log_group_name: str,
    retention_in_days: int,
    tags: Mapping[str, str],
    protected: bool = False,
) -> tuple[cloudwatch.LogGroup, kms.Key]:
    """A log group named ``log_group_name`` under a rotating customer-managed key that only it may use.

    ``protected`` (prod) protects and retains both: the logs are an audit trail that outlives the stack's
    resources, and the key is the only way to read them. ``account`` (``_iam.aws_account(parent)``) places the
    log group's ARN in the key policy.
    """
    keep = data_options(parent, protected)
    policy = pulumi.Output.all(account.partition, account.region, account.account_id).apply(lambda a: log_group_key_policy(a[0], a[1], a[2], log_group_name))
    key = customer_managed_key(
        f"{name}-key",
        f"Encrypts the CloudWatch Logs group {log_group_name}",
        tags,
        keep,
        policy=policy,
    )
    group = cloudwatch.LogGroup(
        name,
        name=log_group_name,
        retention_in_days=retention_in_days,
        kms_key_id=key.arn,
        tags=dict(tags),
        opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[key])),
    )
    return group, key
