"""The lake's data-access trail: CloudTrail S3 data events, KMS-encrypted with a key of its own, validated, private.

Documents (the key policy, the bucket policy, lifecycle, encryption, the trail's event selectors) are checked against
moto as the other AWS documents are; the EKS control plane's audit log is in test_cluster.py.
"""

import json

import boto3
import moto
import pytest

from lepton_infra.components.aws.cluster import EksCluster
from lepton_infra.components.aws.data_access_trail import DataAccessTrail
from lepton_infra.testing import ACCOUNT_ID, run

from aws_support import KEY, rejected
from moto_checks import assert_kms_accepts, assert_s3_accepts, to_api

TRAIL = "aws:cloudtrail/trail:Trail"
BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LAKE_BUCKETS = ["arn:aws:s3:::dev-aws-use1-raw-123456789012", "arn:aws:s3:::dev-aws-use1-models-123456789012"]
TRAIL_NAME = "dev-aws-use1-lake-data-access"
TRAIL_ARN = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT_ID}:trail/{TRAIL_NAME}"
LOG_BUCKET = f"dev-aws-use1-data-access-trail-{ACCOUNT_ID}"


def plan_for(**overrides):
    args = {"bucket_arns": LAKE_BUCKETS, "retention_days": 30, "name_prefix": "dev-aws-use1", "tags": {"team": "ml"}}
    return run(lambda: DataAccessTrail("audit", {**args, **overrides}), config={"aws:region": "us-west-2"})


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_the_trail_records_reads_and_writes_of_the_lake_objects_only(plan):
    trail = plan.one(TRAIL)
    assert trail.inputs["name"] == TRAIL_NAME
    assert trail.inputs["advancedEventSelectors"] == [
        {
            "name": "Lake object reads and writes",
            "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {"field": "resources.ARN", "startsWiths": [f"{arn}/" for arn in LAKE_BUCKETS]},
            ],
        }
    ]
    assert "eventSelectors" not in trail.inputs
    assert (trail.inputs["includeGlobalServiceEvents"], trail.inputs["isMultiRegionTrail"]) == (False, False)


def test_log_files_are_validated_and_encrypted_with_the_trails_own_rotating_key(plan):
    trail, key = plan.one(TRAIL), plan.one(KEY)
    assert trail.inputs["enableLogFileValidation"] is True and trail.inputs["enableLogging"] is True
    assert trail.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    encryption = plan.one(ENCRYPTION).inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]}
    assert encryption["bucketKeyEnabled"] is True


def test_the_key_policy_lets_cloudtrail_use_it_for_this_trail_only_and_kms_accepts_it(plan):
    key = plan.one(KEY)
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(statements) == {"EnableIAMUserPermissions", "AllowCloudTrailToEncryptLogs", "AllowCloudTrailToDescribeKey"}
    encrypt, describe = statements["AllowCloudTrailToEncryptLogs"], statements["AllowCloudTrailToDescribeKey"]
    assert encrypt["Principal"] == describe["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert (encrypt["Action"], describe["Action"]) == ("kms:GenerateDataKey*", "kms:DescribeKey")
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN, "kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARN}
    }
    assert describe["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    assert_kms_accepts(key)


def test_the_log_bucket_lets_only_this_trail_write_and_s3_accepts_its_documents(plan):
    bucket = plan.one(BUCKET)
    assert bucket.inputs["bucket"] == LOG_BUCKET and plan.one(TRAIL).inputs["s3BucketName"] == LOG_BUCKET
    statements = {s["Sid"]: s for s in json.loads(plan.one(POLICY).inputs["policy"])["Statement"]}
    assert set(statements) == {"DenyInsecureTransport", "AWSCloudTrailAclCheck", "AWSCloudTrailWrite"}
    assert statements["AWSCloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    write = statements["AWSCloudTrailWrite"]
    assert write["Resource"] == f"arn:aws:s3:::{LOG_BUCKET}/AWSLogs/{ACCOUNT_ID}/*"
    assert write["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL_ARN}}
    assert plan.one(PUBLIC_ACCESS_BLOCK).inputs["restrictPublicBuckets"] is True
    assert_s3_accepts(
        LOG_BUCKET, region="us-west-2", policy=plan.one(POLICY), lifecycle=plan.one(LIFECYCLE), encryption=plan.one(ENCRYPTION)
    )
    assert plan.one(POLICY).urn in plan.one(TRAIL).dependencies


def test_cloudtrail_accepts_the_trail_and_its_event_selectors(plan):
    trail = plan.one(TRAIL).inputs
    with moto.mock_aws():
        boto3.client("s3", region_name="us-west-2").create_bucket(
            Bucket=LOG_BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        client = boto3.client("cloudtrail", region_name="us-west-2")
        created = client.create_trail(
            Name=trail["name"],
            S3BucketName=trail["s3BucketName"],
            KmsKeyId=trail["kmsKeyId"],
            EnableLogFileValidation=trail["enableLogFileValidation"],
            IncludeGlobalServiceEvents=trail["includeGlobalServiceEvents"],
            IsMultiRegionTrail=trail["isMultiRegionTrail"],
        )
        assert created["TrailARN"] == TRAIL_ARN, "the ARN the key and bucket policies name is the trail's"
        selectors = to_api(trail["advancedEventSelectors"])
        for selector in selectors:  # the API spells the list fields in the singular of what the SDK calls them
            selector["FieldSelectors"] = [
                {("StartsWith" if k == "StartsWiths" else k): v for k, v in f.items()} for f in selector["FieldSelectors"]
            ]
        client.put_event_selectors(TrailName=trail["name"], AdvancedEventSelectors=selectors)
        stored = client.get_event_selectors(TrailName=trail["name"])["AdvancedEventSelectors"]
        assert stored == selectors


def test_log_files_expire_after_the_retention(plan):
    (rule,) = plan.one(LIFECYCLE).inputs["rules"]
    assert rule["expiration"] == {"days": 30} and rule["noncurrentVersionExpiration"] == {"noncurrentDays": 1}
    assert plan_for(retention_days=365).one(LIFECYCLE).inputs["rules"][0]["expiration"] == {"days": 365}


def test_key_bucket_and_trail_are_protected_and_retained_only_when_protected(plan):
    kept = (KEY, BUCKET, TRAIL)
    assert not any(r.protect or r.retain_on_delete for t in kept for r in plan.of_type(t))
    protected = plan_for(protected=True)
    assert all(protected.one(t).protect and protected.one(t).retain_on_delete for t in kept)


@pytest.mark.parametrize(
    "overrides, field, says",
    [
        ({"retention_days": 100}, "retention_days", "CloudWatch Logs keeps logs for one of"),
        ({"bucket_arns": []}, "bucket_arns", "at least 1"),
    ],
)
def test_bad_args_name_the_field_and_nothing_is_created(overrides, field, says):
    args = {"bucket_arns": LAKE_BUCKETS, "retention_days": 30, **overrides}
    error, plan = rejected(lambda: DataAccessTrail("audit", args))
    assert error.issues[0][0] == field and says in error.issues[0][1]
    assert plan.resources == []


def test_the_control_plane_log_group_keeps_logs_as_long_as_it_is_told():
    cluster = {"name": "dev-use1", "spec": {"public_access_cidrs": ["203.0.113.0/24"]}, "subnet_ids": ["subnet-0a"]}
    plan = run(lambda: EksCluster("c", {**cluster, "log_retention_days": 30}), config={"aws:region": "us-west-2"})
    assert plan.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30
    assert "audit" in plan.one("aws:eks/cluster:Cluster").inputs["enabledClusterLogTypes"]
    error, nothing = rejected(lambda: EksCluster("c", {**cluster, "log_retention_days": 45}))
    assert error.issues[0][0] == "log_retention_days" and nothing.resources == []
