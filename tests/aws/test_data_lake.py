import json

import pulumi
import pulumi_aws as aws
import pytest

from lepton_infra.components.aws.data_lake import DataLake
from lepton_infra.components.aws.workload_identity import OidcProvider, WorkloadIdentity
from lepton_infra.testing import ACCOUNT_ID, run
from lepton_infra.spec import SpecError

from aws_support import rejected
from moto_checks import assert_s3_accepts
from moto_iam import assert_iam_accepts

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
GLUE_DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

ZONES = ["raw", "curated", "models"]
TAGS = {"lepton.ai/environment": "dev", "team": "ml"}
LIFECYCLE_SPEC = {
    "infrequent_access_after_days": 45,
    "archive_after_days": 120,
    "noncurrent_versions_expire_after_days": 200,
    "abort_incomplete_uploads_after_days": 3,
}
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5E1D6F1B7C0A4A3B9C2D8E7F6A5B4C3D"


def lake_args(protected=False, backup_provider=None, **spec):
    return {
        "spec": {"zones": ZONES, "lifecycle": LIFECYCLE_SPEC, "access_logs_retention_days": 90, **spec},
        "name_prefix": "dev-aws-use1",
        "protected": protected,
        "tags": TAGS,
        "backup_provider": backup_provider,
    }


def identity(name="llm"):
    return WorkloadIdentity(
        f"{name}-identity",
        {
            "cluster": OidcProvider(f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{ISSUER}", ISSUER),
            "namespace": "models",
            "service_account": name,
        },
    )


@pytest.fixture(scope="module")
def plan():
    """An unprotected lake without backup; a reader of models and a writer of raw."""

    def program():
        lake = DataLake("lake", lake_args())
        lake.grant_read(identity("reader"), "models")
        lake.grant_write(identity("writer"), "raw")
        pulumi.export("buckets", lake.buckets)
        pulumi.export("kms_key_arn", lake.kms_key_arn)
        pulumi.export("glue_databases", lake.glue_databases)

    return run(program)


@pytest.fixture(scope="module")
def backup_plan():
    """A protected lake with backup to us-west-2."""

    def program():
        backup = aws.Provider("backup", region="us-west-2")
        DataLake("lake", lake_args(protected=True, backup_provider=backup, backup={"region": "us-west-2"}))

    return run(program)


def config_of(plan, type_, bucket):
    """The configuration resource of ``type_`` that targets ``bucket`` (a planned Bucket)."""
    (found,) = [r for r in plan.of_type(type_) if r.inputs["bucket"] == bucket.outputs["bucket"]]
    return found


def zone_bucket(plan, zone):
    return plan.one(BUCKET, f"lake-{zone}")


def lake_key(plan):
    return plan.one(KEY, "lake-key")


def grant_statements(plan, policy_name):
    return {s["Sid"]: s for s in json.loads(plan.one(ROLE_POLICY, policy_name).inputs["policy"])["Statement"]}


def actions(statement):
    return set([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])


# --------------------------------------------------------------------------------------------------- buckets
def test_one_bucket_per_zone_plus_one_access_log_bucket(plan):
    names = sorted(b.name for b in plan.of_type(BUCKET))
    assert names == sorted([f"lake-{z}" for z in ZONES] + ["lake-access-logs"])
    assert plan.stack_outputs["buckets"] == {z: zone_bucket(plan, z).outputs["bucket"] for z in ZONES}


def test_bucket_names_are_valid_s3_names_even_for_long_prefixes():
    long = run(lambda: DataLake("lake", {**lake_args(), "name_prefix": "production-" + "x" * 60}))
    for bucket in long.of_type(BUCKET):
        name = bucket.inputs["bucket"]
        assert 3 <= len(name) <= 63 and name == name.lower() and name[0].isalnum() and name[-1].isalnum()
    assert len({b.inputs["bucket"] for b in long.of_type(BUCKET)}) == len(ZONES) + 1


def test_zone_buckets_use_sse_kms_with_the_lakes_one_customer_managed_key_and_bucket_keys(plan):
    key = lake_key(plan)
    assert len(plan.of_type(KEY)) == 1
    assert key.inputs["enableKeyRotation"] is True
    for zone in ZONES:
        (rule,) = config_of(plan, ENCRYPTION, zone_bucket(plan, zone)).inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]}
        assert rule["bucketKeyEnabled"] is True
    assert plan.stack_outputs["kms_key_arn"] == key.outputs["arn"]


def test_every_bucket_is_versioned_private_and_owner_enforced(plan, backup_plan):
    for p in (plan, backup_plan):
        for bucket in p.of_type(BUCKET):
            assert config_of(p, VERSIONING, bucket).inputs["versioningConfiguration"]["status"] == "Enabled"
            block = config_of(p, PUBLIC_ACCESS_BLOCK, bucket).inputs
            flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            assert all(block[f] is True for f in flags), block
            assert config_of(p, OWNERSHIP, bucket).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_every_bucket_policy_denies_requests_without_tls(plan, backup_plan):
    for p in (plan, backup_plan):
        for bucket in p.of_type(BUCKET):
            statements = json.loads(config_of(p, POLICY, bucket).inputs["policy"])["Statement"]
            arn = bucket.outputs["arn"]
            assert {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            } in statements


def test_lifecycle_tiers_to_ia_then_glacier_instant_retrieval_and_cleans_up(plan):
    for zone in ZONES:
        rules = {r["id"]: r for r in config_of(plan, LIFECYCLE, zone_bucket(plan, zone)).inputs["rules"]}
        tiering = rules["tiering"]
        assert tiering["status"] == "Enabled" and tiering["filter"] == {}
        assert tiering["transitions"] == [
            {"days": 45, "storageClass": "STANDARD_IA"},
            {"days": 120, "storageClass": "GLACIER_IR"},
        ]
        assert tiering["noncurrentVersionExpiration"] == {"noncurrentDays": 200}
        abort = rules["abort-incomplete-multipart-uploads"]
        assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 3}
        assert abort["status"] == "Enabled" and abort["filter"] == {}


def test_lifecycle_waits_for_versioning(plan):
    bucket = zone_bucket(plan, "raw")
    assert config_of(plan, VERSIONING, bucket).urn in config_of(plan, LIFECYCLE, bucket).dependencies


# --------------------------------------------------------------------------------------------------- access logs
def test_zone_buckets_log_access_to_the_log_bucket_under_a_prefix_per_zone(plan):
    logs = plan.one(BUCKET, "lake-access-logs")
    assert len(plan.of_type(LOGGING)) == len(ZONES)
    for zone in ZONES:
        logging = config_of(plan, LOGGING, zone_bucket(plan, zone)).inputs
        assert logging["targetBucket"] == logs.outputs["bucket"]
        assert logging["targetPrefix"] == f"s3-access-logs/{zone}/"


def test_log_bucket_uses_sse_s3_because_access_logging_cannot_write_to_sse_kms(plan):
    (rule,) = config_of(plan, ENCRYPTION, plan.one(BUCKET, "lake-access-logs")).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_only_s3_logging_for_this_lakes_buckets_in_this_account_may_write_logs(plan):
    logs = plan.one(BUCKET, "lake-access-logs")
    statements = {s["Sid"]: s for s in json.loads(config_of(plan, POLICY, logs).inputs["policy"])["Statement"]}
    delivery = statements["S3ServerAccessLogsPolicy"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == f"{logs.outputs['arn']}/s3-access-logs/*"
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert sorted(delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(zone_bucket(plan, z).outputs["arn"] for z in ZONES)


def test_access_logs_expire_after_the_retention(plan):
    (rule,) = config_of(plan, LIFECYCLE, plan.one(BUCKET, "lake-access-logs")).inputs["rules"]
    assert rule["expiration"] == {"days": 90}
    assert rule["status"] == "Enabled" and rule["filter"] == {}


# --------------------------------------------------------------------------------------------------- catalog, tags
def test_a_glue_database_per_zone_points_at_its_bucket(plan):
    assert len(plan.of_type(GLUE_DATABASE)) == len(ZONES)
    for zone in ZONES:
        database = plan.one(GLUE_DATABASE, f"lake-{zone}-catalog").inputs
        assert database["name"] == f"dev_aws_use1_{zone}"
        assert database["locationUri"] == f"s3://{zone_bucket(plan, zone).outputs['bucket']}/"
    assert plan.stack_outputs["glue_databases"] == {z: f"dev_aws_use1_{z}" for z in ZONES}


def test_buckets_keys_databases_and_the_replication_role_carry_the_tags(plan, backup_plan):
    tagged = [r for p in (plan, backup_plan) for t in (BUCKET, KEY, GLUE_DATABASE) for r in p.of_type(t)]
    tagged.append(backup_plan.one(ROLE, "lake-replication-role"))
    assert len(tagged) == (len(ZONES) + 1 + 1 + len(ZONES)) + (2 * len(ZONES) + 1 + 2 + len(ZONES)) + 1
    for resource in tagged:
        assert resource.inputs["tags"] == TAGS, resource.name


# --------------------------------------------------------------------------------------------------- protection
def test_protected_lake_protects_and_retains_every_bucket_and_key(backup_plan):
    data = backup_plan.of_type(BUCKET) + backup_plan.of_type(KEY)
    assert len(data) == 2 * len(ZONES) + 1 + 2
    assert all(r.protect and r.retain_on_delete for r in data), [r.name for r in data if not r.protect]


def test_unprotected_lake_protects_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


# --------------------------------------------------------------------------------------------------- backup
def test_replica_buckets_and_key_live_in_the_backup_region_through_the_backup_provider(backup_plan):
    provider = backup_plan.one("pulumi:providers:aws", "backup").urn
    replica_key = backup_plan.one(KEY, "lake-replica-key")
    for resource in [replica_key] + [backup_plan.one(BUCKET, f"lake-{z}-replica") for z in ZONES]:
        assert resource.provider.startswith(provider + "::"), resource.name
    for zone in ZONES:
        replica = backup_plan.one(BUCKET, f"lake-{zone}-replica")
        assert replica.outputs["region"] == "us-west-2"
        assert config_of(backup_plan, VERSIONING, replica).provider.startswith(provider + "::")
        (rule,) = config_of(backup_plan, ENCRYPTION, replica).inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == replica_key.outputs["arn"]
    assert replica_key.outputs["arn"].startswith("arn:aws:kms:us-west-2:")
    assert replica_key.inputs["enableKeyRotation"] is True
    assert zone_bucket(backup_plan, "raw").provider is None


def test_each_zone_replicates_its_kms_objects_into_its_replica_under_the_replica_key(backup_plan):
    role = backup_plan.one(ROLE, "lake-replication-role")
    replica_key = backup_plan.one(KEY, "lake-replica-key")
    assert len(backup_plan.of_type(REPLICATION)) == len(ZONES)
    for zone in ZONES:
        source, replica = zone_bucket(backup_plan, zone), backup_plan.one(BUCKET, f"lake-{zone}-replica")
        config = config_of(backup_plan, REPLICATION, source)
        assert config.inputs["role"] == role.outputs["arn"]
        (rule,) = config.inputs["rules"]
        assert rule["status"] == "Enabled" and rule["filter"] == {}
        assert rule["destination"]["bucket"] == replica.outputs["arn"]
        assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key.outputs["arn"]}
        assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
        versionings = {config_of(backup_plan, VERSIONING, b).urn for b in (source, replica)}
        assert versionings <= set(config.dependencies)


def test_replication_role_is_assumable_only_by_s3_and_holds_least_privilege(backup_plan):
    role = backup_plan.one(ROLE, "lake-replication-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    policy = backup_plan.one(ROLE_POLICY, "lake-replication-policy")
    assert policy.inputs["role"] == role.outputs["name"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    sources = sorted(zone_bucket(backup_plan, z).outputs["arn"] for z in ZONES)
    replicas = sorted(backup_plan.one(BUCKET, f"lake-{z}-replica").outputs["arn"] for z in ZONES)
    assert actions(statements["ReadReplicationConfig"]) == {"s3:GetReplicationConfiguration", "s3:ListBucket"}
    assert sorted(statements["ReadReplicationConfig"]["Resource"]) == sources
    assert actions(statements["ReadSourceVersions"]) == {
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
    }
    assert sorted(statements["ReadSourceVersions"]["Resource"]) == [f"{a}/*" for a in sources]
    assert actions(statements["WriteReplicas"]) == {"s3:ReplicateObject", "s3:ReplicateTags"}
    assert sorted(statements["WriteReplicas"]["Resource"]) == [f"{a}/*" for a in replicas]
    assert statements["DecryptSource"]["Resource"] == lake_key(backup_plan).outputs["arn"]
    assert statements["EncryptReplica"]["Resource"] == backup_plan.one(KEY, "lake-replica-key").outputs["arn"]
    assert (actions(statements["DecryptSource"]), actions(statements["EncryptReplica"])) == ({"kms:Decrypt"}, {"kms:Encrypt"})


def test_backup_without_a_backup_provider_is_rejected_before_anything_exists():
    error, plan = rejected(lambda: DataLake("lake", lake_args(backup={"region": "us-west-2"})))
    assert "backup_provider" in str(error) and "us-west-2" in str(error)
    assert plan.resources == []


def test_a_backup_provider_without_backup_is_rejected():
    caught = []

    def program():
        provider = aws.Provider("backup", region="us-west-2")
        try:
            DataLake("lake", lake_args(backup_provider=provider))
        except SpecError as exc:
            caught.append(exc)

    plan = run(program)
    assert caught and "backup_provider" in str(caught[0])
    assert [r.type for r in plan.resources] == ["pulumi:providers:aws"]


# --------------------------------------------------------------------------------------------------- grants
def test_grant_read_allows_list_get_and_decrypt_on_its_zone_only(plan):
    bucket, key = zone_bucket(plan, "models").outputs["arn"], lake_key(plan).outputs["arn"]
    statements = grant_statements(plan, "reader-identity-lake-models-read")
    assert {sid: actions(s) for sid, s in statements.items()} == {
        "ListZone": {"s3:ListBucket"},
        "ReadObjects": {"s3:GetObject", "s3:GetObjectVersion"},
        "UseLakeKeyThroughS3": {"kms:Decrypt"},
    }
    assert statements["ListZone"]["Resource"] == bucket
    assert statements["ReadObjects"]["Resource"] == f"{bucket}/*"
    assert statements["UseLakeKeyThroughS3"]["Resource"] == key
    assert statements["UseLakeKeyThroughS3"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_grant_write_adds_put_abort_and_key_encryption(plan):
    bucket = zone_bucket(plan, "raw").outputs["arn"]
    statements = grant_statements(plan, "writer-identity-lake-raw-write")
    assert {sid: actions(s) for sid, s in statements.items()} == {
        "ListZone": {"s3:ListBucket"},
        "WriteObjects": {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload"},
        "UseLakeKeyThroughS3": {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"},
    }
    assert statements["WriteObjects"]["Resource"] == f"{bucket}/*"


def test_grants_attach_to_the_identitys_role(plan):
    for who, policy in (("reader", "reader-identity-lake-models-read"), ("writer", "writer-identity-lake-raw-write")):
        role = next(r for r in plan.of_type(ROLE) if r.name == f"{who}-identity-role")
        granted = plan.one(ROLE_POLICY, policy)
        assert granted.inputs["role"] == role.outputs["name"]
        assert granted.parent == plan.one("lepton:aws:WorkloadIdentity", f"{who}-identity").urn


def test_grants_per_identity_zone_and_mode_do_not_collide():
    def program():
        lake = DataLake("lake", lake_args())
        who = identity()
        lake.grant_read(who, "models")
        lake.grant_write(who, "models")
        lake.grant_read(who, "raw")

    policies = run(program).of_type(ROLE_POLICY)
    assert len({p.urn for p in policies}) == 3
    assert len({p.inputs["name"] for p in policies}) == 3


def test_granting_an_unknown_zone_names_the_zones_and_creates_no_policy():
    caught = []

    def program():
        lake = DataLake("lake", lake_args())
        try:
            lake.grant_read(identity(), "gold")
        except SpecError as exc:
            caught.append(exc)

    plan = run(program)
    assert caught and "'gold'" in str(caught[0]) and "raw, curated, models" in str(caught[0])
    assert plan.of_type(ROLE_POLICY) == []


# --------------------------------------------------------------------------------------------------- moto
def test_every_bucket_configuration_is_accepted_by_s3(plan, backup_plan):
    for p in (plan, backup_plan):
        for bucket in p.of_type(BUCKET):
            replication = [r for r in p.of_type(REPLICATION) if r.inputs["bucket"] == bucket.outputs["bucket"]]
            assert_s3_accepts(
                bucket.outputs["bucket"],
                region=bucket.outputs["region"],
                policy=config_of(p, POLICY, bucket),
                lifecycle=config_of(p, LIFECYCLE, bucket),
                encryption=config_of(p, ENCRYPTION, bucket),
                replication=replication[0] if replication else None,
            )


def test_every_iam_document_is_accepted_by_iam(plan, backup_plan):
    documents = [(r.inputs["assumeRolePolicy"], None) for p in (plan, backup_plan) for r in p.of_type(ROLE)]
    documents += [(None, r.inputs["policy"]) for p in (plan, backup_plan) for r in p.of_type(ROLE_POLICY)]
    assert len(documents) == 2 + 2 + 1 + 1
    for trust, policy in documents:
        assert_iam_accepts(trust_policy_json=trust, policy_json=policy)


@pytest.mark.parametrize("prefix", ["ML_Dev", "ml.dev", "-ml", "xn--ml"])
def test_a_name_prefix_s3_would_refuse_is_rejected_before_anything_exists(prefix):
    error, plan = rejected(lambda: DataLake("lake", {**lake_args(), "name_prefix": prefix}))
    assert "name_prefix" in dict(error.issues) and plan.resources == []


def test_without_a_name_prefix_bucket_names_carry_the_stack():
    plan = run(lambda: DataLake("lake", {k: v for k, v in lake_args().items() if k != "name_prefix"}), stack="prod")
    assert all("prod" in b.inputs["bucket"] for b in plan.of_type(BUCKET))
