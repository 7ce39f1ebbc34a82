"""Who read and wrote the lake's objects: a CloudTrail trail of S3 data events for the lake's buckets, under a key.

The lake's S3 server access logs go to a bucket that may only use SSE-S3 (S3 User Guide, "Enabling Amazon S3 server
access logging": "default encryption with SSE-KMS is not supported for server access logging destination buckets";
components/aws/data_lake.py), so they cannot be under the cell's keys. (The AWS CDK found delivery to an SSE-KMS
bucket working once the key lets the logging service use it and dropped its check, aws/aws-cdk#25350, but the User
Guide does not document that; it is not relied on here.) CloudTrail data events can be: the trail encrypts
its log files with a customer-managed KMS key (SSE-KMS) and signs a digest of them every hour (log file validation,
CloudTrail User Guide, "Validating CloudTrail log file integrity").

- Events: data events only (no management events: an account has its own trail for those), ``AWS::S3::Object`` in the
  lake's buckets, reads and writes, through advanced event selectors (CloudTrail User Guide, "Logging data events":
  ``eventCategory`` Data, ``resources.type`` AWS::S3::Object, ``resources.ARN`` StartsWith "<bucket ARN>/").
- Key: rotating, customer-managed, its policy from the CloudTrail User Guide, "Configure AWS KMS key policies for
  CloudTrail" (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html):
  the account administers it; cloudtrail.amazonaws.com may kms:GenerateDataKey* only for this trail (aws:SourceArn
  and the kms:EncryptionContext:aws:cloudtrail:arn context both the trail's ARN) and kms:DescribeKey for it. Readers
  decrypt through IAM policies the account grants (the root statement delegates to IAM).
- Bucket: private, versioned, SSE-KMS under the same key with bucket keys (CloudTrail supports S3 Bucket Keys), a
  TLS-only policy with CloudTrail's two statements from "Amazon S3 bucket policy for CloudTrail"
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html:
  s3:GetBucketAcl on the bucket, s3:PutObject on AWSLogs/<account>/* with bucket-owner-full-control, both only for
  this trail's aws:SourceArn), log files expiring after the retention.
- Protected environments protect and retain the key, the bucket and the trail.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_aws.cloudtrail as cloudtrail
from pydantic import Field

from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import ComponentArgs, NamePrefix, PulumiInput, parse_model
from lepton_infra.spec.aws import CloudWatchRetention

from .._resource_options import data_options
from . import _iam, _s3
from ._kms import customer_managed_key

TOKEN = "lepton:aws:DataAccessTrail"
CLOUDTRAIL = "cloudtrail.amazonaws.com"
ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:cloudtrail:arn"
# CloudTrail trail names: 3-128 characters (CloudTrail API reference, CreateTrail "Name").
TRAIL_NAME_MAX = 128


class DataAccessTrailArgsDict(TypedDict, total=False):
    """DataAccessTrailArgs as a plain dict: the same keys, validated the same way."""

    bucket_arns: Required[Sequence[PulumiInput[str]]]
    retention_days: Required[CloudWatchRetention]
    name_prefix: NamePrefix | None
    protected: bool
    tags: Mapping[str, str]


class DataAccessTrailArgs(ComponentArgs):
    bucket_arns: list[PulumiInput[str]] = Field(min_length=1, description="The lake's zone buckets whose objects are audited.")
    retention_days: CloudWatchRetention = Field(
        description="Days the trail's log files are kept (the cell's audit.retention_days, by environment); one of the "
        "values CloudWatch Logs takes, so one audit retention fits every AWS log store of the cell."
    )
    name_prefix: NamePrefix | None = Field(
        None, description="Prefix of physical names (trail, bucket), e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    protected: bool = Field(False, description="protect + retain_on_delete on the key, the log bucket and the trail (prod).")
    tags: dict[str, str] = Field(default_factory=dict)


def trail_arn(partition: str, region: str, account_id: str, trail_name: str) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{trail_name}"


def key_policy(partition: str, account_id: str, trail: str) -> str:
    """The account administers the key; CloudTrail may encrypt with it (and describe it) for this one trail only."""
    this_trail = {"aws:SourceArn": trail}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnableIAMUserPermissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                _s3.service_allow(
                    "AllowCloudTrailToEncryptLogs", CLOUDTRAIL, "kms:GenerateDataKey*", "*",
                    {"StringEquals": {**this_trail, ENCRYPTION_CONTEXT: trail}},
                ),
                _s3.service_allow("AllowCloudTrailToDescribeKey", CLOUDTRAIL, "kms:DescribeKey", "*", {"StringEquals": this_trail}),
            ],
        }
    )


def bucket_policy(bucket_arn: str, account_id: str, trail: str) -> str:
    """TLS only; CloudTrail may check the bucket's ACL and write this account's log files, for this trail only."""
    this_trail = {"aws:SourceArn": trail}
    return _s3.policy(
        [
            _s3.tls_only(bucket_arn),
            _s3.service_allow("AWSCloudTrailAclCheck", CLOUDTRAIL, "s3:GetBucketAcl", bucket_arn, {"StringEquals": this_trail}),
            _s3.service_allow(
                "AWSCloudTrailWrite", CLOUDTRAIL, "s3:PutObject", f"{bucket_arn}/AWSLogs/{account_id}/*",
                {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **this_trail}},
            ),
        ]
    )


def object_events(bucket_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Advanced event selectors: every read and write of an object in these buckets (and nothing else)."""
    return [
        {
            "name": "Lake object reads and writes",
            "field_selectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {"field": "resources.ARN", "starts_withs": [f"{arn}/" for arn in bucket_arns]},
            ],
        }
    ]


class DataAccessTrail(pulumi.ComponentResource):
    """A trail of the lake's S3 object reads and writes, KMS-encrypted, validated, in a private bucket of its own."""

    trail_arn: pulumi.Output[str]
    bucket: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataAccessTrailArgs | DataAccessTrailArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(DataAccessTrailArgs, args)
        super().__init__(TOKEN, name, None, opts)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        trail_name = physical_name(prefix, "lake-data-access", max_length=TRAIL_NAME_MAX)
        keep = data_options(self, args.protected)
        account = _iam.aws_account(self)
        arn = pulumi.Output.all(account.partition, account.region, account.account_id).apply(
            lambda a: trail_arn(a[0], a[1], a[2], trail_name)
        )

        key = customer_managed_key(
            f"{name}-key",
            f"Encrypts CloudTrail {trail_name}: the {prefix} lake's data access log",
            args.tags,
            keep,
            policy=pulumi.Output.all(account.partition, account.account_id, arn).apply(lambda a: key_policy(*a)),
        )
        bucket, versioning = _s3.private_bucket(
            self,
            f"{name}-logs",
            account.account_id.apply(lambda a: physical_name(prefix, "data-access-trail", a)),
            keep,
            _s3.kms_encryption(key),
            args.tags,
        )
        written = _s3.bucket_policy(
            self, f"{name}-logs", bucket,
            pulumi.Output.all(bucket.arn, account.account_id, arn).apply(lambda a: bucket_policy(*a)),
        )
        _s3.lifecycle(self, f"{name}-logs", bucket, _s3.expiring_log_rules(args.retention_days), versioning)
        trail = cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name,
            s3_bucket_name=bucket.bucket,
            kms_key_id=key.arn,
            enable_log_file_validation=True,
            enable_logging=True,
            include_global_service_events=False,
            is_multi_region_trail=False,
            advanced_event_selectors=pulumi.Output.all(*args.bucket_arns).apply(object_events),
            tags=dict(args.tags),
            # CloudTrail checks at creation that it may write to the bucket and use the key.
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[written, key])),
        )
        self.trail_arn = trail.arn
        self.bucket = bucket.bucket
        self.kms_key_arn = key.arn
        self.register_outputs({"trail_arn": self.trail_arn, "bucket": self.bucket, "kms_key_arn": self.kms_key_arn})
