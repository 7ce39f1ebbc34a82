"""The GCP data lake: one GCS bucket per zone under one Cloud KMS key, catalogued in a BigQuery dataset per zone.

Per docs/design.md, "Data lake": uniform bucket-level access (IAM only, no object ACLs), public access prevention
enforced, CMEK as every bucket's default key with Google-managed and customer-supplied keys refused for new objects,
versioning, lifecycle tiering from the lake's lifecycle settings, and usage logs into a log bucket of their own.
Workloads get access through ``grant_read`` / ``grant_write`` (the AWS CDK grant pattern): one IAM member on that
zone's bucket only. They need no KMS permission: reading and writing take only storage.objects.get / .create, and
Cloud Storage's service agent encrypts and decrypts with the key on their behalf
(https://cloud.google.com/storage/docs/encryption/using-customer-managed-keys, "Before you begin"), so it is the one
principal granted the key, with BigQuery's service agent for the catalog datasets.

With ``backup``, every zone has a second bucket in the backup region, under a key of that region (a bucket's CMEK key
must be in its location), filled by cross-bucket replication: a Storage Transfer Service replication job per zone
copies every new and updated object (https://cloud.google.com/storage-transfer/docs/cross-bucket-replication).
Deletes are not replicated and the backup keeps versions, so it is a backup, not a mirror. Objects already in a
zone when its job is created are not copied (same page, "Limitations"): a one-off transfer does that.
The transfer service agent gets what the Console grants it for replication
(https://cloud.google.com/storage/docs/using-cross-bucket-replication): legacyBucketOwner on the source (it sets up
the source's Pub/Sub notifications), legacyBucketWriter on the backup. Replication learns of new objects through
Pub/Sub: the transfer agent creates the topic and subscription, and Cloud Storage's service agent publishes the
bucket's notifications to it, so both get Pub/Sub Editor on the project ("Grant required roles" on the cross-bucket
replication page: https://cloud.google.com/storage-transfer/docs/cross-bucket-replication#grant-required-roles;
that section's project-wide Storage Admin for the transfer agent is left out: the bucket roles above cover it).
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Required, TypedDict

import pulumi
import pulumi_gcp.bigquery as bigquery
import pulumi_gcp.projects as projects
import pulumi_gcp.storage as storage
from pydantic import Field, field_validator

from lepton_infra.cell_contract import Grantee
from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import ComponentArgs, LifecycleSpec, NamePrefix, SpecError, parse_model
from lepton_infra.spec.gcp import GcpLabels, GcsDataLakeSpec

from .._resource_options import data_options
from . import _project
from ._kms import customer_managed_key
from ._names import dataset_id
from .workload_identity import WorkloadIdentity

TOKEN = "lepton:gcp:DataLake"
# Least privilege per mode (https://cloud.google.com/storage/docs/access-control/iam-roles): objectViewer lists and
# reads objects; objectUser also creates, overwrites and deletes them (versioning keeps what is overwritten), but,
# unlike objectAdmin, cannot read or change object IAM policies.
GRANT_ROLES = {"read": "roles/storage.objectViewer", "write": "roles/storage.objectUser"}
# The archive tier: Coldline keeps objects readable at once (every GCS class does) with a 90-day minimum, as S3's
# Glacier Instant Retrieval does for the AWS lake; Archive's 365-day minimum would bill early deletes of a year.
INFREQUENT_CLASS, ARCHIVE_CLASS = "NEARLINE", "COLDLINE"
ACCESS_LOGS_PREFIX = "usage-logs/"
# Cloud Storage writes usage logs as this group (https://cloud.google.com/storage/docs/access-logs#delivery).
LOG_WRITER = ("group:cloud-storage-analytics@google.com", "roles/storage.objectCreator")
# The transfer service agent's roles for replication, on the source and on the backup bucket (see the docstring).
REPLICATION_SOURCE_ROLE = "roles/storage.legacyBucketOwner"
REPLICATION_SINK_ROLE = "roles/storage.legacyBucketWriter"
# ...and on the project, for the transfer agent and Cloud Storage's agent (the Pub/Sub notifications replication reads).
REPLICATION_PUBSUB_ROLE = "roles/pubsub.editor"
# Only CMEK for new objects: no Google-managed and no customer-supplied keys.
CMEK_ONLY = {
    "google_managed_encryption_enforcement_config": {"restriction_mode": "FullyRestricted"},
    "customer_supplied_encryption_enforcement_config": {"restriction_mode": "FullyRestricted"},
}


class DataLakeArgsDict(TypedDict, total=False):
    """DataLakeArgs as a plain dict: the same keys, validated the same way."""

    spec: GcsDataLakeSpec | Mapping[str, Any]
    name_prefix: NamePrefix | None
    protected: bool
    labels: GcpLabels


class DataLakeArgs(ComponentArgs):
    spec: GcsDataLakeSpec = Field(default_factory=GcsDataLakeSpec)
    name_prefix: NamePrefix | None = Field(
        None, description="Prefix of physical names (buckets, datasets), e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    protected: bool = Field(False, description="protect + retain_on_delete on buckets, datasets and the key (prod).")
    labels: GcpLabels = Field(default_factory=dict)

    @field_validator("name_prefix")
    @classmethod
    def _not_google(cls, value: str | None) -> str | None:
        # GCS bucket naming rules: no "goog" prefix, no "google" inside (https://cloud.google.com/storage/docs/buckets#naming).
        if value and (value.startswith("goog") or "google" in value):
            raise ValueError(f"{value!r}: bucket names may not start with 'goog' or contain 'google'")
        return value


def lifecycle_rules(lifecycle: LifecycleSpec) -> list[dict[str, Any]]:
    """Tier live objects to Nearline then Coldline, delete old versions, abort stale multipart uploads.

    ``matches_storage_classes`` keeps each transition one-way (Coldline objects never go back to Nearline).
    """
    return [
        {
            "action": {"type": "SetStorageClass", "storage_class": INFREQUENT_CLASS},
            "condition": {"age": lifecycle.infrequent_access_after_days, "matches_storage_classes": ["STANDARD"], "with_state": "LIVE"},
        },
        {
            "action": {"type": "SetStorageClass", "storage_class": ARCHIVE_CLASS},
            "condition": {
                "age": lifecycle.archive_after_days,
                "matches_storage_classes": ["STANDARD", INFREQUENT_CLASS],
                "with_state": "LIVE",
            },
        },
        {
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": lifecycle.noncurrent_versions_expire_after_days, "with_state": "ARCHIVED"},
        },
        {
            "action": {"type": "AbortIncompleteMultipartUpload"},
            "condition": {"age": lifecycle.abort_incomplete_uploads_after_days},
        },
    ]


def access_log_rules(retention_days: int) -> list[dict[str, Any]]:
    """Logs are deleted after the retention; the versions that leaves behind a day later."""
    return [
        {"action": {"type": "Delete"}, "condition": {"age": retention_days, "with_state": "LIVE"}},
        {"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": 1, "with_state": "ARCHIVED"}},
    ]


class DataLake(pulumi.ComponentResource):
    """Buckets per zone: CMEK, versioned, private, uniformly IAM-controlled, tiered, logged, catalogued in BigQuery."""

    kms_key_id: pulumi.Output[str]
    buckets: dict[str, pulumi.Output[str]]
    bucket_urls: dict[str, pulumi.Output[str]]
    datasets: dict[str, pulumi.Output[str]]
    access_logs_bucket: pulumi.Output[str] | None

    def __init__(self, name: str, args: DataLakeArgs | DataLakeArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(DataLakeArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name = name
        self._zones = list(args.spec.zones)
        self._labels = dict(args.labels)
        self._data = data_options(self, args.protected)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        config = _project.client_config(self)
        self._location = config.region.apply(str.upper)

        gcs_agent = storage.get_project_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).member
        bigquery_agent = bigquery.get_default_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).member
        self.key, self._key_grants = customer_managed_key(
            self,
            f"{name}-key",
            location=config.region,
            labels=self._labels,
            opts=self._data,
            users={"storage": gcs_agent, "bigquery": bigquery_agent},
        )
        # Bucket names share one global namespace: the project id (itself globally unique) keeps ours apart.
        def physical(*parts: str) -> pulumi.Output[str]:
            return config.project.apply(lambda project: physical_name(prefix, *parts, project))

        log_bucket = None
        if args.spec.access_logs:
            log_bucket = self._bucket(f"{name}-access-logs", physical("access-logs"), access_log_rules(args.spec.access_logs_retention_days))
            storage.BucketIAMMember(
                f"{name}-access-logs-writer",
                bucket=log_bucket.name,
                member=LOG_WRITER[0],
                role=LOG_WRITER[1],
                opts=pulumi.ResourceOptions(parent=self),
            )

        self._buckets: dict[str, storage.Bucket] = {}
        self.datasets = {}
        for zone in self._zones:
            logging = {"log_bucket": log_bucket.name, "log_object_prefix": f"{ACCESS_LOGS_PREFIX}{zone}/"} if log_bucket else None
            self._buckets[zone] = self._bucket(f"{name}-{zone}", physical(zone), lifecycle_rules(args.spec.lifecycle), logging)
            dataset = bigquery.Dataset(
                f"{name}-{zone}-catalog",
                dataset_id=dataset_id(prefix, zone),
                location=config.region,
                description=f"Catalog of the {zone} zone of the {prefix} data lake",
                default_encryption_configuration={"kms_key_name": self.key.id},
                delete_contents_on_destroy=False,
                labels=self._labels,
                opts=pulumi.ResourceOptions.merge(self._data, pulumi.ResourceOptions(depends_on=self._key_grants)),
            )
            self.datasets[zone] = dataset.dataset_id

        self.backup_buckets: dict[str, pulumi.Output[str]] = {}
        if args.spec.backup:
            self.backup_buckets = self._replicate(
                name, args.spec.backup.region, physical, lifecycle_rules(args.spec.lifecycle), gcs_agent, config.project
            )

        self.kms_key_id = self.key.id
        self.buckets = {zone: b.name for zone, b in self._buckets.items()}
        self.bucket_urls = {zone: b.url for zone, b in self._buckets.items()}
        self.access_logs_bucket = log_bucket.name if log_bucket else None
        self.register_outputs(
            {
                "kms_key_id": self.kms_key_id,
                "buckets": self.buckets,
                "bucket_urls": self.bucket_urls,
                "datasets": self.datasets,
                "access_logs_bucket": self.access_logs_bucket,
                "backup_buckets": self.backup_buckets,
            }
        )

    # grants ------------------------------------------------------------------------------------
    def grant_read(self, identity: Grantee, zone: str) -> storage.BucketIAMMember:
        """Let ``identity`` list and read the objects of ``zone`` (roles/storage.objectViewer on that bucket)."""
        return self._grant(identity, zone, "read")

    def grant_write(self, identity: Grantee, zone: str) -> storage.BucketIAMMember:
        """Let ``identity`` read, create, overwrite and delete the objects of ``zone`` (roles/storage.objectUser)."""
        return self._grant(identity, zone, "write")

    def _grant(self, identity: Grantee, zone: str, mode: Literal["read", "write"]) -> storage.BucketIAMMember:
        where = f"DataLake.grant_{mode}"
        if not isinstance(identity, WorkloadIdentity):
            kind = f"a {getattr(identity, 'cloud', type(identity).__name__)} identity"
            raise SpecError([("identity", f"a GCS lake grants to a GCP WorkloadIdentity (Google service account), not {kind}")], where)
        if zone not in self._buckets:
            raise SpecError([("zone", f"unknown zone {zone!r}; this lake's zones: {', '.join(self._zones)}")], where)
        return storage.BucketIAMMember(
            f"{self._resource_name}-{zone}-{mode}-{identity.resource_name}",
            bucket=self._buckets[zone].name,
            role=GRANT_ROLES[mode],
            member=identity.member,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # building blocks ---------------------------------------------------------------------------
    def _replicate(
        self,
        name: str,
        region: str,
        physical,
        rules: list[dict[str, Any]],
        gcs_agent: pulumi.Output[str],
        project: pulumi.Output[str],
    ) -> dict[str, pulumi.Output[str]]:
        """A bucket per zone in ``region`` under a key of that region (``gcs_agent``, Cloud Storage's service agent,
        may use it), and a replication job from each zone into it."""
        transfer_agent = storage.get_transfer_project_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).member
        notifications = [
            projects.IAMMember(
                f"{name}-{agent}-replication-pubsub",
                project=project,
                role=REPLICATION_PUBSUB_ROLE,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for agent, member in (("transfer-agent", transfer_agent), ("storage-agent", gcs_agent))
        ]
        key, grants = customer_managed_key(
            self, f"{name}-backup-key", location=region, labels=self._labels, opts=self._data, users={"storage": gcs_agent}
        )
        backups = {}
        for zone, source in self._buckets.items():
            backup = self._bucket(f"{name}-{zone}-backup", physical(zone, "backup"), rules, key=key, key_grants=grants, location=region.upper())
            access = [
                storage.BucketIAMMember(
                    f"{name}-{zone}-{side}-replication",
                    bucket=bucket.name,
                    role=role,
                    member=transfer_agent,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                for side, bucket, role in (("source", source, REPLICATION_SOURCE_ROLE), ("backup", backup, REPLICATION_SINK_ROLE))
            ]
            storage.TransferJob(
                f"{name}-{zone}-replication",
                # Replication jobs take no custom name (cross-bucket replication, "Limitations"): the description says it.
                description=pulumi.Output.concat("Replicate gs://", source.name, " to gs://", backup.name),
                replication_spec={
                    "gcs_data_source": {"bucket_name": source.name},
                    "gcs_data_sink": {"bucket_name": backup.name},
                    "transfer_options": {"delete_objects_unique_in_sink": False, "overwrite_when": "DIFFERENT"},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=access + notifications),
            )
            backups[zone] = backup.name
        return backups

    def _bucket(
        self,
        name: str,
        physical: pulumi.Input[str],
        rules: list[dict[str, Any]],
        logging: dict[str, Any] | None = None,
        *,
        key=None,
        key_grants=None,
        location: pulumi.Input[str] | None = None,
    ) -> storage.Bucket:
        """A regional bucket (the lake's, unless told): CMEK only, versioned, uniform bucket-level access, public
        access prevention enforced."""
        key, key_grants = key or self.key, key_grants if key_grants is not None else self._key_grants
        return storage.Bucket(
            name,
            name=physical,
            location=location or self._location,
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            encryption={"default_kms_key_name": key.id, **CMEK_ONLY},
            lifecycle_rules=rules,
            logging=logging,
            force_destroy=False,
            labels=self._labels,
            # Cloud Storage checks its service agent's access to the key when the bucket is created.
            opts=pulumi.ResourceOptions.merge(self._data, pulumi.ResourceOptions(depends_on=key_grants)),
        )
