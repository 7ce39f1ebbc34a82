"""S3 buckets and bucket-policy documents the AWS components share: the lake's zone and log buckets, the audit trail's.

Every bucket made here is versioned, default-encrypted, blocks all four kinds of public access and has ACLs off
(BucketOwnerEnforced); its policy denies any request not made over TLS.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws.kms as kms
import pulumi_aws.s3 as s3


def policy(statements: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid: str, actions: Sequence[str] | str, resource: Any, condition: dict | None = None) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions if isinstance(actions, str) else list(actions)}
    statement["Resource"] = list(resource) if isinstance(resource, (list, tuple)) else resource
    return {**statement, **({"Condition": condition} if condition else {})}


def service_allow(sid: str, service: str, actions: Sequence[str] | str, resource: Any, condition: dict | None = None) -> dict[str, Any]:
    """``allow`` for an AWS service principal (log delivery, CloudTrail)."""
    return {**allow(sid, actions, resource, condition), "Principal": {"Service": service}}


def tls_only(bucket_arn: str) -> dict[str, Any]:
    """Deny any request not made over TLS.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
    """
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def kms_encryption(key: kms.Key) -> dict[str, Any]:
    """SSE-KMS under ``key`` with S3 Bucket Keys (fewer KMS calls)."""
    return {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
        "bucket_key_enabled": True,
    }


def expiring_log_rules(retention_days: int) -> list[dict[str, Any]]:
    """Logs expire after the retention; the versions that expiry leaves behind go a day later."""
    return [
        {
            "id": "expire-access-logs",
            "status": "Enabled",
            "filter": {},
            "expiration": {"days": retention_days},
            "noncurrent_version_expiration": {"noncurrent_days": 1},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
        }
    ]


def private_bucket(
    parent: pulumi.Resource,
    name: str,
    physical: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    encryption: dict[str, Any],
    tags: Mapping[str, str],
) -> tuple[s3.Bucket, s3.BucketVersioning]:
    """A bucket with versioning, default encryption, all public access blocked and ACLs disabled; and its versioning
    (lifecycle rules on a versioned bucket must wait for it)."""
    bucket = s3.Bucket(name, bucket=physical, tags=dict(tags), opts=opts)
    child = pulumi.ResourceOptions(parent=parent, provider=opts.provider)
    versioning = s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
    )
    s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.id, rules=[encryption], opts=child)
    s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    return bucket, versioning


def bucket_policy(parent: pulumi.Resource, name: str, bucket: s3.Bucket, document: pulumi.Input[str], provider: Any = None) -> s3.BucketPolicy:
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    return s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=document, opts=opts)


def lifecycle(
    parent: pulumi.Resource, name: str, bucket: s3.Bucket, rules: list[dict[str, Any]], versioning: s3.BucketVersioning,
    provider: Any = None,
) -> s3.BucketLifecycleConfiguration:
    """Lifecycle rules on a versioned bucket, once versioning is on."""
    return s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=rules,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[versioning]),
    )
