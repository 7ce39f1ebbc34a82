"""The AWS data lake: one S3 bucket per zone under one customer-managed KMS key, catalogued in Glue.

Per docs/design.md, "Data lake": SSE-KMS with S3 Bucket Keys (fewer KMS calls), versioning, all four public-access
blocks, bucket-owner-enforced ownership (ACLs off), a TLS-only bucket policy, lifecycle tiering, server access logs,
a Glue database per zone, and cross-region replication when the spec asks for a backup. Workloads get access through
``grant_read`` / ``grant_write`` (the AWS CDK grant pattern), which attach least-privilege policies to a
WorkloadIdentity.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_aws.glue as glue
import pulumi_aws.iam as iam
import pulumi_aws.kms as kms
import pulumi_aws.s3 as s3
from pulumi_aws import get_caller_identity_output
from pydantic import Field, model_validator

from lepton_infra.cell_contract import Grantee
from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import (
    ComponentArgs,
    DataLakeSpec,
    LifecycleSpec,
    NamePrefix,
    PulumiInput,
    SpecError,
    SpecIssues,
    parse_model,
)

from .._resource_options import data_options
from . import _iam, _s3
from ._kms import customer_managed_key
from .workload_identity import WorkloadIdentity

TOKEN = "lepton:aws:DataLake"
# Archive tier: Glacier Instant Retrieval keeps archived objects readable with a plain GetObject (millisecond access,
# no restore job), so a training job or a model server holding grant_read never meets InvalidObjectState on old data;
# Flexible Retrieval / Deep Archive are cheaper but need RestoreObject first
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-class-intro.html#sc-glacier).
ARCHIVE_STORAGE_CLASS = "GLACIER_IR"
ACCESS_LOGS_PREFIX = "s3-access-logs/"
_READ_S3 = ("s3:GetObject", "s3:GetObjectVersion")
_WRITE_S3 = ("s3:PutObject", "s3:AbortMultipartUpload")
_READ_KMS = ("kms:Decrypt",)
_WRITE_KMS = ("kms:Encrypt", "kms:GenerateDataKey")


class DataLakeArgsDict(TypedDict, total=False):
    """DataLakeArgs as a plain dict: the same keys, validated the same way."""

    spec: DataLakeSpec | Mapping[str, Any]
    name_prefix: NamePrefix | None
    protected: bool
    tags: Mapping[str, str]
    backup_provider: pulumi.ProviderResource | None


class DataLakeArgs(ComponentArgs):
    spec: DataLakeSpec = Field(default_factory=DataLakeSpec)
    name_prefix: NamePrefix | None = Field(
        None, description="Prefix of physical names (buckets, catalogs, roles), e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    protected: bool = Field(False, description="protect + retain_on_delete on buckets and keys (prod).")
    tags: dict[str, str] = Field(default_factory=dict)
    backup_provider: pulumi.ProviderResource | None = Field(
        None, description="An aws.Provider for spec.backup.region; required exactly when spec.backup is set."
    )

    @model_validator(mode="after")
    def _backup_provider_matches_backup(self) -> "DataLakeArgs":
        if self.spec.backup and self.backup_provider is None:
            region = self.spec.backup.region
            raise SpecIssues([(("backup_provider",), f"required when spec.backup is set: an aws.Provider for {region!r}")])
        if self.backup_provider is not None and not self.spec.backup:
            raise SpecIssues([(("backup_provider",), "given but spec.backup is not set; set spec.backup.region or drop it")])
        return self


# --------------------------------------------------------------------------------------------------- documents
def _log_delivery(log_bucket_arn: str, source_bucket_arns: Sequence[str], account_id: str) -> dict[str, Any]:
    """Let S3's logging service write access logs, only for this lake's buckets in this account (confused deputy).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
    """
    condition = {"ArnLike": {"aws:SourceArn": list(source_bucket_arns)}, "StringEquals": {"aws:SourceAccount": account_id}}
    return _s3.service_allow(
        "S3ServerAccessLogsPolicy", "logging.s3.amazonaws.com", "s3:PutObject", f"{log_bucket_arn}/{ACCESS_LOGS_PREFIX}*", condition
    )


def grant_policy(mode: Literal["read", "write"], bucket_arn: str, key_arn: str, region: str) -> str:
    """Least-privilege access to one zone: list the bucket, get (and for write, put) objects, use the lake key via S3."""
    s3_actions = _READ_S3 + (_WRITE_S3 if mode == "write" else ())
    kms_actions = _READ_KMS + (_WRITE_KMS if mode == "write" else ())
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    return _s3.policy(
        [
            _s3.allow("ListZone", "s3:ListBucket", bucket_arn),
            _s3.allow(f"{mode.capitalize()}Objects", s3_actions, f"{bucket_arn}/*"),
            _s3.allow("UseLakeKeyThroughS3", kms_actions, key_arn, via_s3),
        ]
    )


def _replication_policy(sources: Sequence[str], replicas: Sequence[str], source_key: str, replica_key: str) -> str:
    """What S3 replication needs, and no more.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html. No
    s3:ReplicateDelete: delete markers are not replicated (see the rules), so a delete in the source never hides the
    backup's copy.
    """
    source_versions = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    return _s3.policy(
        [
            _s3.allow("ReadReplicationConfig", ["s3:GetReplicationConfiguration", "s3:ListBucket"], sources),
            _s3.allow("ReadSourceVersions", source_versions, [f"{arn}/*" for arn in sources]),
            _s3.allow("WriteReplicas", ["s3:ReplicateObject", "s3:ReplicateTags"], [f"{arn}/*" for arn in replicas]),
            _s3.allow("DecryptSource", "kms:Decrypt", source_key),
            _s3.allow("EncryptReplica", "kms:Encrypt", replica_key),
        ]
    )


def lifecycle_rules(lifecycle: LifecycleSpec) -> list[dict[str, Any]]:
    """Tier current objects to IA then archive, expire old versions, abort stale multipart uploads.

    Each rule has an empty filter: the current API requires Filter (or the deprecated Prefix) on every rule.
    """
    return [
        {
            "id": "tiering",
            "status": "Enabled",
            "filter": {},
            "transitions": [
                {"days": lifecycle.infrequent_access_after_days, "storage_class": "STANDARD_IA"},
                {"days": lifecycle.archive_after_days, "storage_class": ARCHIVE_STORAGE_CLASS},
            ],
            "noncurrent_version_expiration": {"noncurrent_days": lifecycle.noncurrent_versions_expire_after_days},
        },
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": lifecycle.abort_incomplete_uploads_after_days},
        },
    ]


access_log_rules = _s3.expiring_log_rules


def _tls_only_policy(bucket: s3.Bucket) -> pulumi.Output[str]:
    return bucket.arn.apply(lambda arn: _s3.policy([_s3.tls_only(arn)]))


# --------------------------------------------------------------------------------------------------- component
class DataLake(pulumi.ComponentResource):
    """Buckets per zone, encrypted, versioned, private, logged, tiered, catalogued and optionally replicated."""

    kms_key_arn: pulumi.Output[str]
    buckets: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    glue_databases: dict[str, pulumi.Output[str]]
    access_logs_bucket: pulumi.Output[str]
    replica_buckets: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DataLakeArgs | DataLakeArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(DataLakeArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name = name
        self._spec = args.spec
        self._zones = list(args.spec.zones)
        self._tags = dict(args.tags)
        self._versionings: dict[str, s3.BucketVersioning] = {}
        data_opts = data_options(self, args.protected)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        # Bucket names share one global namespace: the account id keeps ours from colliding with anyone else's.
        account_id = get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.key = self._key(f"{name}-key", f"Encrypts the {prefix} data lake", data_opts)
        # Server access logging supports only SSE-S3 (AES256) default encryption on the destination bucket, not
        # SSE-KMS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
        log_bucket = self._bucket(
            f"{name}-access-logs",
            account_id.apply(lambda a: physical_name(prefix, "access-logs", a)),
            data_opts,
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}},
        )
        self._lifecycle(f"{name}-access-logs", log_bucket, access_log_rules(args.spec.access_logs_retention_days))

        self._buckets: dict[str, s3.Bucket] = {}
        self.glue_databases = {}
        for zone in self._zones:
            physical = account_id.apply(lambda a, z=zone: physical_name(prefix, z, a))
            bucket = self._bucket(f"{name}-{zone}", physical, data_opts, _s3.kms_encryption(self.key))
            self._bucket_policy(f"{name}-{zone}", bucket, _tls_only_policy(bucket))
            self._lifecycle(f"{name}-{zone}", bucket, lifecycle_rules(args.spec.lifecycle))
            s3.BucketLogging(
                f"{name}-{zone}-logging",
                bucket=bucket.id,
                target_bucket=log_bucket.id,
                target_prefix=f"{ACCESS_LOGS_PREFIX}{zone}/",
                opts=pulumi.ResourceOptions(parent=self),
            )
            database = glue.CatalogDatabase(
                f"{name}-{zone}-catalog",
                name=f"{prefix}_{zone}".replace("-", "_"),
                description=f"Catalog of the {zone} zone of the {prefix} data lake",
                location_uri=pulumi.Output.concat("s3://", bucket.bucket, "/"),
                tags=self._tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._buckets[zone] = bucket
            self.glue_databases[zone] = database.name

        self._bucket_policy(
            f"{name}-access-logs",
            log_bucket,
            pulumi.Output.all(log_bucket.arn, account_id, *(b.arn for b in self._buckets.values())).apply(
                lambda a: _s3.policy([_s3.tls_only(a[0]), _log_delivery(a[0], a[2:], a[1])])
            ),
        )

        self.replica_buckets = {}
        if args.spec.backup:
            self._replicate(name, prefix, args.spec.backup.region, args.backup_provider, account_id, args.protected)

        self.kms_key_arn = self.key.arn
        self.buckets = {zone: b.bucket for zone, b in self._buckets.items()}
        self.bucket_arns = {zone: b.arn for zone, b in self._buckets.items()}
        self.access_logs_bucket = log_bucket.bucket
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "buckets": self.buckets,
                "bucket_arns": self.bucket_arns,
                "glue_databases": self.glue_databases,
                "access_logs_bucket": self.access_logs_bucket,
                "replica_buckets": self.replica_buckets,
            }
        )

    # grants ------------------------------------------------------------------------------------
    def grant_read(self, identity: Grantee, zone: str) -> iam.RolePolicy:
        """Let ``identity`` list and read the objects of ``zone`` (and decrypt them with the lake key)."""
        return self._grant(identity, zone, "read")

    def grant_write(self, identity: Grantee, zone: str) -> iam.RolePolicy:
        """Let ``identity`` read and write (put, abort multipart uploads) the objects of ``zone``."""
        return self._grant(identity, zone, "write")

    def _grant(self, identity: Grantee, zone: str, mode: Literal["read", "write"]) -> iam.RolePolicy:
        if not isinstance(identity, WorkloadIdentity):
            kind = f"a {getattr(identity, 'cloud', type(identity).__name__)} identity"
            raise SpecError([("identity", f"an S3 lake grants to an AWS WorkloadIdentity (IRSA role), not {kind}")],
                            f"DataLake.grant_{mode}")
        if zone not in self._buckets:
            allowed = ", ".join(self._zones)
            raise SpecError([("zone", f"unknown zone {zone!r}; this lake's zones: {allowed}")], f"DataLake.grant_{mode}")
        bucket = self._buckets[zone]
        document = pulumi.Output.all(bucket.arn, self.key.arn, bucket.region).apply(lambda a: grant_policy(mode, *a))
        return identity.attach_policy(f"{self._resource_name}-{zone}-{mode}", document)

    # building blocks ---------------------------------------------------------------------------
    def _key(self, name: str, description: str, opts: pulumi.ResourceOptions) -> kms.Key:
        return customer_managed_key(name, description, self._tags, opts)

    def _bucket(
        self, name: str, physical: pulumi.Input[str], opts: pulumi.ResourceOptions, encryption: dict[str, Any]
    ) -> s3.Bucket:
        """A bucket with versioning, default encryption, all public access blocked and ACLs disabled."""
        bucket, self._versionings[name] = _s3.private_bucket(self, name, physical, opts, encryption, self._tags)
        return bucket

    def _bucket_policy(self, name: str, bucket: s3.Bucket, document: pulumi.Input[str], provider: Any = None) -> s3.BucketPolicy:
        return _s3.bucket_policy(self, name, bucket, document, provider)

    def _lifecycle(self, name: str, bucket: s3.Bucket, rules: list[dict[str, Any]], provider: Any = None):
        return _s3.lifecycle(self, name, bucket, rules, self._versionings[name], provider)

    def _replicate(
        self, name: str, prefix: str, region: str, provider: Any, account_id: pulumi.Output[str], protected: bool
    ) -> None:
        """Replica key and buckets in the backup region, one replication role, and a replication rule per zone."""
        replica_opts = data_options(self, protected, provider=provider)
        replica_key = self._key(f"{name}-replica-key", f"Encrypts the {prefix} data lake replicas in {region}", replica_opts)
        replicas: dict[str, s3.Bucket] = {}
        for zone in self._zones:
            physical = account_id.apply(lambda a, z=zone: physical_name(prefix, z, region, a))
            replica = self._bucket(f"{name}-{zone}-replica", physical, replica_opts, _s3.kms_encryption(replica_key))
            self._bucket_policy(f"{name}-{zone}-replica", replica, _tls_only_policy(replica), provider)
            self._lifecycle(f"{name}-{zone}-replica", replica, lifecycle_rules(self._spec.lifecycle), provider)
            replicas[zone] = replica
        sources = [self._buckets[z].arn for z in self._zones]
        targets = [replicas[z].arn for z in self._zones]
        role, _ = _iam.role(
            self,
            f"{name}-replication-role",
            physical=(prefix, "lake-replication"),
            trust_policy=_iam.service_trust_policy("s3.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account_id}}),
            description=f"S3 replication of the {prefix} data lake to {region}",
            tags=self._tags,
        )
        n = len(self._zones)
        policy = iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.name,
            policy=pulumi.Output.all(self.key.arn, replica_key.arn, *sources, *targets).apply(
                lambda a: _replication_policy(a[2 : 2 + n], a[2 + n :], a[0], a[1])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for zone in self._zones:
            s3.BucketReplicationConfig(
                f"{name}-{zone}-replication",
                bucket=self._buckets[zone].id,
                role=role.arn,
                rules=[
                    {
                        "id": "backup",
                        "status": "Enabled",
                        "filter": {},
                        # Keep the backup's copy visible when an object is deleted in the source.
                        "delete_marker_replication": {"status": "Disabled"},
                        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                        "destination": {
                            "bucket": replicas[zone].arn,
                            "encryption_configuration": {"replica_kms_key_id": replica_key.arn},
                        },
                    }
                ],
                # Replication requires versioning on both sides, and the role's permissions in place.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self._versionings[f"{name}-{zone}"], self._versionings[f"{name}-{zone}-replica"], policy],
                ),
            )
        self.replica_buckets = {zone: r.bucket for zone, r in replicas.items()}
