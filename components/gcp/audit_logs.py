"""The GCP cell's audit trail: Cloud Audit Logs of GKE and Cloud Storage, routed to a CMEK log bucket of the cell's.

- Admin Activity audit logs are always written and cannot be turned off (Cloud Audit Logs overview,
  https://cloud.google.com/logging/docs/audit#admin-activity). Data Access audit logs are off by default; this turns
  on DATA_READ and DATA_WRITE for ``container.googleapis.com`` (GKE, and through it the Kubernetes API's own k8s.io
  audit entries: GKE docs, "GKE audit logging information") and ``storage.googleapis.com`` (the lake's object reads
  and writes), with one ``IAMAuditConfig`` per service: authoritative for that service's audit config only, leaving
  every other service's as the project's owner set it (pulumi_gcp, ``gcp.projects.IAMAuditConfig``).
- A sink routes the cell's entries (``logName:"cloudaudit.googleapis.com"`` of this cluster and of the lake's
  buckets) to a log bucket in the cell's region that keeps them ``retention_days`` (1-3650 days) under a Cloud KMS key
  of its own: Cloud Logging encrypts a log bucket with CMEK when the bucket's ``cmekSettings.kmsKeyName`` names a key
  in the bucket's location that the project's Cloud Logging service account may use as
  roles/cloudkms.cryptoKeyEncrypterDecrypter (that account from ``logging.get_project_cmek_settings``; pulumi_gcp's
  ``ProjectBucketConfig`` example "logging bucket with customId and cmekSettings"; Cloud Logging docs, "Configure
  CMEK for log storage": https://cloud.google.com/logging/docs/routing/managed-encryption-storage). The CMEK setting
  cannot be removed from a bucket later, only its key changed.
- The sink writes as the project's Logging service account, which may write to the project's own log buckets (the
  route the built-in _Default sink takes); no grant is made.
- Protected environments protect and retain the key and the log bucket. The bucket is not ``locked``: a locked
  bucket's retention can never be shortened nor the bucket deleted, which is the owner's call, not a default.
- The project-wide audit configs are shared by every cell in the project: two GCP cells in one project both manage
  them (same values); removing one cell removes them until the other's next update.
"""

from __future__ import annotations

from typing import Required, Sequence, TypedDict

import pulumi
import pulumi_gcp.logging as logging
import pulumi_gcp.projects as projects
from pydantic import Field

from lepton_infra.spec import ComponentArgs, PulumiInput, parse_model
from lepton_infra.spec.common import AUDIT_RETENTION_DAYS
from lepton_infra.spec.gcp import LOG_BUCKET_MAX_RETENTION_DAYS, GcpLabels

from .._resource_options import data_options
from . import _project
from ._kms import customer_managed_key

TOKEN = "lepton:gcp:AuditLogs"
# The services whose Data Access audit logs the cell turns on, by a short name for resource names.
AUDITED_SERVICES = {"gke": "container.googleapis.com", "storage": "storage.googleapis.com"}
DATA_ACCESS_LOG_TYPES = ("DATA_READ", "DATA_WRITE")
# Log bucket ids: letters, digits, '_' and '-', at most 100 characters (Cloud Logging API, CreateBucket bucketId).
LOG_BUCKET_ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"


class AuditLogsArgsDict(TypedDict, total=False):
    """AuditLogsArgs as a plain dict: the same keys, validated the same way."""

    bucket_id: Required[str]
    retention_days: Required[int]
    cluster_name: Required[PulumiInput[str]]
    lake_buckets: Required[Sequence[PulumiInput[str]]]
    protected: bool
    labels: GcpLabels


class AuditLogsArgs(ComponentArgs):
    bucket_id: str = Field(pattern=LOG_BUCKET_ID_PATTERN, description="The log bucket's id (also names the sink).")
    retention_days: int = Field(
        ge=AUDIT_RETENTION_DAYS,
        le=LOG_BUCKET_MAX_RETENTION_DAYS,
        description="Days the log bucket keeps entries (the cell's audit.retention_days, by environment).",
    )
    cluster_name: PulumiInput[str] = Field(description="The GKE cluster whose audit entries are routed (GkeCluster.name).")
    lake_buckets: list[PulumiInput[str]] = Field(description="The lake's bucket names whose audit entries are routed.")
    protected: bool = Field(False, description="protect + retain_on_delete on the key and the log bucket (prod).")
    labels: GcpLabels = Field(default_factory=dict)


def audit_filter(cluster: str, buckets: Sequence[str]) -> str:
    """Cloud Audit Logs entries (every type) of this cluster (GKE API and Kubernetes API) and these buckets."""
    kubernetes = f'resource.type=("gke_cluster" OR "k8s_cluster") AND resource.labels.cluster_name="{cluster}"'
    sources = [f"({kubernetes})"]
    if buckets:
        names = " OR ".join(f'"{b}"' for b in buckets)
        sources.append(f'(resource.type="gcs_bucket" AND resource.labels.bucket_name=({names}))')
    return f'logName:"cloudaudit.googleapis.com" AND ({" OR ".join(sources)})'


class AuditLogs(pulumi.ComponentResource):
    """Data Access audit logs on for GKE and Cloud Storage; the cell's audit entries in a CMEK log bucket."""

    log_bucket: pulumi.Output[str]
    kms_key_id: pulumi.Output[str]

    def __init__(self, name: str, args: AuditLogsArgs | AuditLogsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(AuditLogsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        config = _project.client_config(self)
        child = pulumi.ResourceOptions(parent=self)
        keep = data_options(self, args.protected)
        for short, service in AUDITED_SERVICES.items():
            projects.IAMAuditConfig(
                f"{name}-{short}-data-access",
                project=config.project,
                service=service,
                audit_log_configs=[{"log_type": log_type} for log_type in DATA_ACCESS_LOG_TYPES],
                opts=child,
            )
        logging_agent = logging.get_project_cmek_settings_output(
            project=config.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).service_account_id
        key, grants = customer_managed_key(
            self,
            f"{name}-key",
            location=config.region,
            labels=args.labels,
            opts=keep,
            users={"logging": _project.member(logging_agent)},
        )
        bucket = logging.ProjectBucketConfig(
            f"{name}-bucket",
            project=config.project,
            location=config.region,
            bucket_id=args.bucket_id,
            description="Cloud Audit Logs of the cell's GKE cluster and lake buckets",
            retention_days=args.retention_days,
            cmek_settings={"kms_key_name": key.id},
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=grants)),
        )
        logging.ProjectSink(
            f"{name}-sink",
            name=args.bucket_id,
            project=config.project,
            destination=pulumi.Output.concat("logging.googleapis.com/", bucket.id),
            filter=pulumi.Output.all(args.cluster_name, *args.lake_buckets).apply(lambda a: audit_filter(a[0], a[1:])),
            description="The cell's Cloud Audit Logs into its audit log bucket",
            opts=child,
        )
        self.log_bucket = bucket.id
        self.kms_key_id = key.id
        self.register_outputs({"log_bucket": self.log_bucket, "kms_key_id": self.kms_key_id})
