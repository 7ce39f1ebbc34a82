"""The GCS lake: a private, CMEK-only, versioned, tiered bucket per zone, logged, catalogued, granted per zone."""

import pulumi
import pytest

from lepton_infra.components.gcp.data_lake import DataLake
from lepton_infra.components.gcp.workload_identity import WorkloadIdentity, WorkloadPool
from lepton_infra.testing.mocks.gcp import project_number

from gcp_support import (
    BUCKET,
    BUCKET_MEMBER,
    DATASET,
    ENCRYPTER_DECRYPTER,
    KEY,
    KEY_MEMBER,
    KEY_RING,
    PROJECT,
    PROJECT_MEMBER,
    REGION,
    assert_rotating_key_in,
    gcp_run,
    key_users,
    rejected,
)

ZONES = ["raw", "curated", "models"]
LABELS = {"lepton-ai_environment": "dev", "team": "ml"}
LIFECYCLE = {
    "infrequent_access_after_days": 45,
    "archive_after_days": 120,
    "noncurrent_versions_expire_after_days": 200,
    "abort_incomplete_uploads_after_days": 3,
}
GCS_AGENT = f"serviceAccount:service-{project_number(PROJECT)}@gs-project-accounts.iam.gserviceaccount.com"
BIGQUERY_AGENT = f"serviceAccount:bq-{project_number(PROJECT)}@bigquery-encryption.iam.gserviceaccount.com"


def lake_args(protected=False, **spec):
    return {
        "spec": {"zones": ZONES, "lifecycle": LIFECYCLE, "access_logs_retention_days": 90, **spec},
        "name_prefix": "dev-gcp-euw4",
        "protected": protected,
        "labels": LABELS,
    }


def identity(name):
    pool = f"{PROJECT}.svc.id.goog"
    return WorkloadIdentity(f"{name}-identity", {"cluster": WorkloadPool(pool), "namespace": "models", "service_account": name})


@pytest.fixture(scope="module")
def plan():
    """An unprotected lake; a reader of models and a writer of raw."""

    def program():
        lake = DataLake("lake", lake_args())
        lake.grant_read(identity("reader"), "models")
        lake.grant_write(identity("writer"), "raw")
        pulumi.export("buckets", lake.buckets)
        pulumi.export("urls", lake.bucket_urls)
        pulumi.export("datasets", lake.datasets)

    return gcp_run(program)


def zone_bucket(plan, zone):
    return plan.one(BUCKET, f"lake-{zone}")


def identity_email(plan, name):
    return plan.one("gcp:serviceaccount/account:Account", f"{name}-identity-account").outputs["email"]


# --------------------------------------------------------------------------------------------------- buckets
def test_one_bucket_per_zone_plus_one_for_usage_logs_named_after_the_project(plan):
    names = {b.name: b.inputs["name"] for b in plan.of_type(BUCKET)}
    assert names == {
        **{f"lake-{z}": f"dev-gcp-euw4-{z}-{PROJECT}" for z in ZONES},
        "lake-access-logs": f"dev-gcp-euw4-access-logs-{PROJECT}",
    }
    assert plan.stack_outputs["buckets"] == {z: f"dev-gcp-euw4-{z}-{PROJECT}" for z in ZONES}
    assert plan.stack_outputs["urls"] == {z: f"gs://dev-gcp-euw4-{z}-{PROJECT}" for z in ZONES}


def test_bucket_names_stay_valid_gcs_names_for_long_prefixes():
    long = gcp_run(lambda: DataLake("lake", {**lake_args(), "name_prefix": "production-" + "x" * 60}))
    names = [b.inputs["name"] for b in long.of_type(BUCKET)]
    assert all(3 <= len(n) <= 63 and n == n.lower() and n[0].isalnum() and n[-1].isalnum() for n in names)
    assert len(set(names)) == len(ZONES) + 1


def test_every_bucket_is_private_uniform_versioned_regional_and_kept_on_destroy(plan):
    for bucket in plan.of_type(BUCKET):
        inputs = bucket.inputs
        assert inputs["uniformBucketLevelAccess"] is True, bucket.name
        assert inputs["publicAccessPrevention"] == "enforced"
        assert inputs["versioning"] == {"enabled": True}
        assert inputs["forceDestroy"] is False
        assert (inputs["location"], inputs["storageClass"]) == ("EUROPE-WEST4", "STANDARD")
        assert inputs["labels"] == LABELS


def test_every_bucket_encrypts_with_the_lakes_key_and_refuses_other_keys(plan):
    key = plan.one(KEY)
    for bucket in plan.of_type(BUCKET):
        assert bucket.inputs["encryption"] == {
            "defaultKmsKeyName": key.outputs["id"],
            "googleManagedEncryptionEnforcementConfig": {"restrictionMode": "FullyRestricted"},
            "customerSuppliedEncryptionEnforcementConfig": {"restrictionMode": "FullyRestricted"},
        }


def test_the_lake_key_rotates_and_only_the_storage_and_bigquery_service_agents_may_use_it(plan):
    key = plan.one(KEY)
    assert_rotating_key_in(plan, key)
    assert key_users(plan, key) == {GCS_AGENT: ENCRYPTER_DECRYPTER, BIGQUERY_AGENT: ENCRYPTER_DECRYPTER}
    grants = {g.urn for g in plan.of_type(KEY_MEMBER)}
    for resource in plan.of_type(BUCKET) + plan.of_type(DATASET):
        assert grants <= set(resource.dependencies), resource.name


def test_lifecycle_tiers_to_nearline_then_coldline_and_cleans_up(plan):
    for zone in ZONES:
        assert zone_bucket(plan, zone).inputs["lifecycleRules"] == [
            {
                "action": {"type": "SetStorageClass", "storageClass": "NEARLINE"},
                "condition": {"age": 45, "matchesStorageClasses": ["STANDARD"], "withState": "LIVE"},
            },
            {
                "action": {"type": "SetStorageClass", "storageClass": "COLDLINE"},
                "condition": {"age": 120, "matchesStorageClasses": ["STANDARD", "NEARLINE"], "withState": "LIVE"},
            },
            {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 200, "withState": "ARCHIVED"}},
            {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 3}},
        ]


# --------------------------------------------------------------------------------------------------- usage logs
def test_zone_buckets_log_usage_to_the_log_bucket_under_a_prefix_per_zone(plan):
    logs = plan.one(BUCKET, "lake-access-logs")
    for zone in ZONES:
        assert zone_bucket(plan, zone).inputs["logging"] == {"logBucket": logs.outputs["name"], "logObjectPrefix": f"usage-logs/{zone}/"}
    assert "logging" not in logs.inputs


def test_only_cloud_storage_analytics_may_write_to_the_log_bucket_and_logs_expire(plan):
    logs = plan.one(BUCKET, "lake-access-logs")
    (writer,) = [m for m in plan.of_type(BUCKET_MEMBER) if m.inputs["bucket"] == logs.outputs["name"]]
    assert (writer.inputs["member"], writer.inputs["role"]) == ("group:cloud-storage-analytics@google.com", "roles/storage.objectCreator")
    assert logs.inputs["lifecycleRules"] == [
        {"action": {"type": "Delete"}, "condition": {"age": 90, "withState": "LIVE"}},
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 1, "withState": "ARCHIVED"}},
    ]


def test_without_usage_logs_there_is_no_log_bucket():
    plan = gcp_run(lambda: DataLake("lake", lake_args(access_logs=False)))
    assert sorted(b.name for b in plan.of_type(BUCKET)) == sorted(f"lake-{z}" for z in ZONES)
    assert all("logging" not in b.inputs for b in plan.of_type(BUCKET))
    assert plan.of_type(BUCKET_MEMBER) == []


# --------------------------------------------------------------------------------------------------- catalog
def test_a_bigquery_dataset_per_zone_in_the_region_under_the_lake_key(plan):
    key = plan.one(KEY)
    assert len(plan.of_type(DATASET)) == len(ZONES)
    for zone in ZONES:
        dataset = plan.one(DATASET, f"lake-{zone}-catalog").inputs
        assert dataset["datasetId"] == f"dev_gcp_euw4_{zone}"
        assert dataset["location"] == REGION
        assert dataset["defaultEncryptionConfiguration"] == {"kmsKeyName": key.outputs["id"]}
        assert dataset["deleteContentsOnDestroy"] is False
        assert dataset["labels"] == LABELS
    assert plan.stack_outputs["datasets"] == {z: f"dev_gcp_euw4_{z}" for z in ZONES}


# --------------------------------------------------------------------------------------------------- grants
def test_grant_read_is_object_viewer_on_that_zones_bucket_only(plan):
    email = identity_email(plan, "reader")
    (grant,) = [m for m in plan.of_type(BUCKET_MEMBER) if m.inputs["member"] == f"serviceAccount:{email}"]
    assert grant.inputs["bucket"] == zone_bucket(plan, "models").outputs["name"]
    assert grant.inputs["role"] == "roles/storage.objectViewer"


def test_grant_write_is_object_user_not_admin_on_that_zones_bucket_only(plan):
    email = identity_email(plan, "writer")
    (grant,) = [m for m in plan.of_type(BUCKET_MEMBER) if m.inputs["member"] == f"serviceAccount:{email}"]
    assert grant.inputs["bucket"] == zone_bucket(plan, "raw").outputs["name"]
    assert grant.inputs["role"] == "roles/storage.objectUser"


def test_workloads_get_no_key_permission_the_storage_service_agent_decrypts_for_them(plan):
    users = {g.inputs["member"] for g in plan.of_type(KEY_MEMBER)}
    assert users == {GCS_AGENT, BIGQUERY_AGENT}


def test_an_unknown_zone_is_an_error_naming_the_lakes_zones():
    def program():
        DataLake("lake", lake_args()).grant_read(identity("reader"), "gold")

    error, _ = rejected(program)
    message = dict(error.issues)["zone"]
    assert "'gold'" in message and "raw, curated, models" in message


def test_a_lake_grants_only_to_gcp_identities():
    class AwsRole:
        cloud = "aws"

    error, _ = rejected(lambda: DataLake("lake", lake_args()).grant_read(AwsRole(), "models"))
    assert "GCP WorkloadIdentity" in dict(error.issues)["identity"] and "not a aws identity" in dict(error.issues)["identity"]


# --------------------------------------------------------------------------------------------------- protection
def test_a_protected_lake_protects_and_retains_buckets_datasets_and_the_key():
    protected = gcp_run(lambda: DataLake("lake", lake_args(protected=True)))
    data = [r for t in (BUCKET, DATASET, KEY, KEY_RING) for r in protected.of_type(t)]
    assert len(data) == (len(ZONES) + 1) + len(ZONES) + 2
    assert all(r.protect and r.retain_on_delete for r in data), [r.name for r in data if not r.protect]


def test_an_unprotected_lake_protects_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


def test_caller_protection_reaches_every_data_resource():
    plan = gcp_run(lambda: DataLake("lake", lake_args(), opts=pulumi.ResourceOptions(protect=True)))
    data = [r for t in (BUCKET, DATASET, KEY, KEY_RING) for r in plan.of_type(t)]
    assert data and all(r.protect for r in data)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"name_prefix": "google-lake"}, "name_prefix"),
        ({"name_prefix": "goog-lake"}, "name_prefix"),
        ({"name_prefix": "Lake"}, "name_prefix"),
        ({"labels": {"Team": "ml"}}, "labels"),
        ({"spec": {"zones": ["raw", "raw"]}}, "spec.zones"),
        ({"spec": {"lifecycle": {"archive_after_days": 40}}}, "spec.lifecycle.archive_after_days"),
        ({"spec": {"backup": {"region": "eastus"}}}, "spec.backup.region"),
    ],
)
def test_bad_lake_args_name_the_field_and_register_nothing(overrides, field):
    error, plan = rejected(lambda: DataLake("lake", {**lake_args(), **overrides}))
    assert field in dict(error.issues)
    assert plan.resources == []


# --------------------------------------------------------------------------------------------------- backup
BACKUP_REGION = "europe-west1"
TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"
TRANSFER_AGENT = f"serviceAccount:project-{project_number(PROJECT)}@storage-transfer-service.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def backed_up():
    def program():
        lake = DataLake("lake", lake_args(protected=True, backup={"region": BACKUP_REGION}))
        pulumi.export("backups", lake.backup_buckets)

    return gcp_run(program)


def backup_bucket(plan, zone):
    return plan.one(BUCKET, f"lake-{zone}-backup")


def test_every_zone_has_a_backup_bucket_in_the_backup_region_as_private_and_versioned_as_the_zone(backed_up):
    for zone in ZONES:
        source, backup = zone_bucket(backed_up, zone).inputs, backup_bucket(backed_up, zone).inputs
        assert backup["name"] == f"dev-gcp-euw4-{zone}-backup-{PROJECT}"
        assert backup["location"] == "EUROPE-WEST1" and source["location"] == "EUROPE-WEST4"
        same = ("uniformBucketLevelAccess", "publicAccessPrevention", "versioning", "forceDestroy", "lifecycleRules", "labels")
        assert {k: backup[k] for k in same} == {k: source[k] for k in same}
    assert backed_up.stack_outputs["backups"] == {z: f"dev-gcp-euw4-{z}-backup-{PROJECT}" for z in ZONES}


def test_backups_are_encrypted_by_a_key_of_the_backup_region_only_cloud_storage_may_use(backed_up):
    [backup_key] = [k for k in backed_up.of_type(KEY) if k.name == "lake-backup-key"]
    assert_rotating_key_in(backed_up, backup_key, region=BACKUP_REGION)
    assert key_users(backed_up, backup_key) == {GCS_AGENT: ENCRYPTER_DECRYPTER}
    for zone in ZONES:
        encryption = backup_bucket(backed_up, zone).inputs["encryption"]
        assert encryption["defaultKmsKeyName"] == backup_key.outputs["id"]
        assert encryption["googleManagedEncryptionEnforcementConfig"] == {"restrictionMode": "FullyRestricted"}


def test_a_replication_job_per_zone_copies_new_and_updated_objects_and_never_deletes_in_the_backup(backed_up):
    jobs = {j.name: j.inputs for j in backed_up.of_type(TRANSFER_JOB)}
    assert set(jobs) == {f"lake-{z}-replication" for z in ZONES}
    for zone in ZONES:
        spec = jobs[f"lake-{zone}-replication"]["replicationSpec"]
        assert spec["gcsDataSource"] == {"bucketName": zone_bucket(backed_up, zone).inputs["name"]}
        assert spec["gcsDataSink"] == {"bucketName": backup_bucket(backed_up, zone).inputs["name"]}
        assert spec["transferOptions"]["deleteObjectsUniqueInSink"] is False
        assert "name" not in jobs[f"lake-{zone}-replication"]  # replication jobs take no custom name


def test_the_transfer_agent_reads_the_zone_and_writes_its_backup_and_has_nothing_else(backed_up):
    grants = [m for m in backed_up.of_type(BUCKET_MEMBER) if m.inputs["member"] == TRANSFER_AGENT]
    by_bucket = {m.inputs["bucket"]: m.inputs["role"] for m in grants}
    expected = {}
    for zone in ZONES:
        expected[zone_bucket(backed_up, zone).inputs["name"]] = "roles/storage.legacyBucketOwner"
        expected[backup_bucket(backed_up, zone).inputs["name"]] = "roles/storage.legacyBucketWriter"
    assert by_bucket == expected and len(grants) == len(expected)
    for job in backed_up.of_type(TRANSFER_JOB):
        assert {g.urn for g in grants if job.name.removesuffix("-replication") in g.name} <= set(job.dependencies)


def test_replication_reads_its_pubsub_notifications_with_pubsub_editor_for_the_two_agents_only(backed_up):
    """Cross-bucket replication, "Grant required roles": the transfer agent and Cloud Storage's agent, on the project."""
    project_grants = backed_up.of_type(PROJECT_MEMBER)
    assert sorted((g.inputs["member"], g.inputs["role"], g.inputs["project"]) for g in project_grants) == sorted(
        [(TRANSFER_AGENT, "roles/pubsub.editor", PROJECT), (GCS_AGENT, "roles/pubsub.editor", PROJECT)]
    )
    for job in backed_up.of_type(TRANSFER_JOB):
        assert {g.urn for g in project_grants} <= set(job.dependencies)


def test_a_lake_without_backup_grants_nothing_on_the_project(plan):
    assert plan.of_type(PROJECT_MEMBER) == []


def test_backups_are_protected_with_the_lake(backed_up):
    backups = [backup_bucket(backed_up, z) for z in ZONES] + [k for k in backed_up.of_type(KEY) if k.name == "lake-backup-key"]
    assert all(r.protect and r.retain_on_delete for r in backups)


def test_a_lake_without_backup_replicates_nothing(plan):
    assert plan.of_type(TRANSFER_JOB) == [] and not [b for b in plan.of_type(BUCKET) if b.name.endswith("-backup")]
