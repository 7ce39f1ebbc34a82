"""The GCP cell's audit logs: Data Access audit logs on for GKE and Cloud Storage, the cell's entries routed to a log
bucket under its own Cloud KMS key that keeps them per environment (docs/design.md, "Audit")."""

import pytest

from lepton_infra.components.gcp.audit_logs import AuditLogs, audit_filter

from gcp_support import ENCRYPTER_DECRYPTER, KEY, KEY_MEMBER, KEY_RING, PROJECT, PROJECT_NUMBER, REGION, gcp_run, rejected

AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
BUCKET_PATH = f"projects/{PROJECT}/locations/{REGION}/buckets/dev-gcp-euw4-audit"
LOGGING_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-logging.iam.gserviceaccount.com"


def args(**overrides):
    base = {
        "bucket_id": "dev-gcp-euw4-audit",
        "retention_days": 30,
        "cluster_name": "dev-gcp-euw4",
        "lake_buckets": ["dev-gcp-euw4-raw", "dev-gcp-euw4-models"],
        "labels": {"team": "ml"},
    }
    return {**base, **overrides}


def plan_for(**overrides):
    return gcp_run(lambda: AuditLogs("audit", args(**overrides)))


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_data_reads_and_writes_are_audited_for_gke_and_cloud_storage_only(plan):
    configs = {c.inputs["service"]: c.inputs for c in plan.of_type(AUDIT_CONFIG)}
    assert set(configs) == {"container.googleapis.com", "storage.googleapis.com"}
    for config in configs.values():
        assert config["project"] == PROJECT
        assert config["auditLogConfigs"] == [{"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]


def test_the_log_bucket_keeps_entries_per_environment_under_its_own_key(plan):
    bucket, key = plan.one(LOG_BUCKET), plan.one(KEY)
    assert (bucket.inputs["project"], bucket.inputs["location"], bucket.inputs["bucketId"]) == (PROJECT, REGION, "dev-gcp-euw4-audit")
    assert bucket.inputs["retentionDays"] == 30 and "locked" not in bucket.inputs
    ring = plan.one(KEY_RING)
    assert ring.inputs["location"] == REGION, "Cloud Logging needs the key in the log bucket's location"
    assert bucket.inputs["cmekSettings"] == {"kmsKeyName": key.outputs["id"]}
    assert key.outputs["id"].startswith(f"projects/{PROJECT}/locations/{REGION}/keyRings/")
    assert key.inputs["rotationPeriod"] == "7776000s"
    assert plan_for(retention_days=365).one(LOG_BUCKET).inputs["retentionDays"] == 365


def test_only_cloud_loggings_service_account_may_use_the_key_and_the_bucket_waits_for_it(plan):
    (grant,) = plan.of_type(KEY_MEMBER)
    assert (grant.inputs["role"], grant.inputs["member"]) == (ENCRYPTER_DECRYPTER, LOGGING_AGENT)
    assert grant.urn in plan.one(LOG_BUCKET).dependencies


def test_the_sink_routes_this_cells_audit_entries_into_the_bucket(plan):
    sink = plan.one(SINK).inputs
    assert sink["destination"] == f"logging.googleapis.com/{BUCKET_PATH}"
    assert sink["filter"] == (
        'logName:"cloudaudit.googleapis.com" AND ('
        '(resource.type=("gke_cluster" OR "k8s_cluster") AND resource.labels.cluster_name="dev-gcp-euw4") OR '
        '(resource.type="gcs_bucket" AND resource.labels.bucket_name=("dev-gcp-euw4-raw" OR "dev-gcp-euw4-models")))'
    )
    assert audit_filter("c", []) == 'logName:"cloudaudit.googleapis.com" AND ((resource.type=("gke_cluster" OR "k8s_cluster") AND resource.labels.cluster_name="c"))'


def test_key_and_bucket_are_protected_and_retained_only_when_protected(plan):
    kept = (KEY, KEY_RING, LOG_BUCKET)
    assert not any(plan.one(t).protect or plan.one(t).retain_on_delete for t in kept)
    protected = plan_for(protected=True)
    assert all(protected.one(t).protect and protected.one(t).retain_on_delete for t in kept)


@pytest.mark.parametrize(
    "overrides, field",
    [({"retention_days": 3651}, "retention_days"), ({"retention_days": 1}, "retention_days"), ({"bucket_id": "a/b"}, "bucket_id")],
)
def test_bad_args_name_the_field_and_nothing_is_created(overrides, field):
    error, plan = rejected(lambda: AuditLogs("audit", args(**overrides)))
    assert [path for path, _ in error.issues] == [field]
    assert plan.resources == []
