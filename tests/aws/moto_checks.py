"""Check the S3, ECR and KMS documents the AWS components produce against moto, which rejects malformed ones.

The plan records inputs as the engine receives them (camelCase keys, numbers as floats); ``to_api`` turns them into
the PascalCase shapes the S3 API takes. IAM documents go through ``moto_iam.assert_iam_accepts``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import boto3
import botocore.session
import moto
from moto.iam.policy_validation import IAMPolicyDocumentValidator

from lepton_infra.testing import PlannedResource

# Engine keys whose S3 API spelling is not just the capitalised key.
_API_NAMES = {
    "id": "ID",
    "sseAlgorithm": "SSEAlgorithm",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "replicaKmsKeyId": "ReplicaKmsKeyID",
}


def to_api(value: Any) -> Any:
    """Engine-cased inputs -> S3 API shapes: PascalCase keys, whole floats back to ints."""
    if isinstance(value, Mapping):
        return {_API_NAMES.get(k, k[:1].upper() + k[1:]): to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _enum_errors(shape, value: Any, path: str) -> list[str]:
    """Values outside the API model's enums (moto stores e.g. any storage class; the real S3 API does not)."""
    if getattr(shape, "enum", None) and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    if shape.type_name == "structure" and isinstance(value, Mapping):
        return [e for k, v in value.items() if k in shape.members for e in _enum_errors(shape.members[k], v, f"{path}.{k}")]
    if shape.type_name == "list" and isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _enum_errors(shape.member, v, f"{path}[{i}]")]
    return []


def _call(client, operation: str, **params: Any) -> Any:
    """Call ``operation`` after checking every enum-valued parameter against the S3 service model."""
    model = botocore.session.get_session().get_service_model("s3").operation_model(operation)
    errors = _enum_errors(model.input_shape, params, operation)
    assert errors == [], errors
    return getattr(client, botocore.xform_name(operation))(**params)


def _assert_policy_confined_to(bucket: str, document: str) -> None:
    """S3 rejects a bucket policy whose resources lie outside the bucket ("Policy has invalid resource")."""
    for statement in json.loads(document)["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for arn in resources:
            assert arn == f"arn:aws:s3:::{bucket}" or arn.startswith(f"arn:aws:s3:::{bucket}/"), f"{arn} is outside {bucket}"


def _create_bucket(client, name: str, region: str) -> None:
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    client.create_bucket(Bucket=name, **config)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def assert_s3_accepts(
    bucket: str,
    *,
    region: str = "us-east-1",
    policy: PlannedResource | None = None,
    lifecycle: PlannedResource | None = None,
    encryption: PlannedResource | None = None,
    replication: PlannedResource | None = None,
) -> None:
    """Create ``bucket`` (versioned) in moto and put each given planned configuration on it; read each back."""
    with moto.mock_aws():
        client = boto3.client("s3", region_name=region)
        _create_bucket(client, bucket, region)
        for planned in (policy, lifecycle, encryption, replication):
            if planned is not None:
                assert planned.inputs["bucket"] == bucket, f"{planned.name} configures {planned.inputs['bucket']}, not {bucket}"
        if policy is not None:
            _assert_policy_confined_to(bucket, policy.inputs["policy"])
            client.put_bucket_policy(Bucket=bucket, Policy=policy.inputs["policy"])
            assert json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy.inputs["policy"])
        if lifecycle is not None:
            rules = to_api(lifecycle.inputs["rules"])
            _call(client, "PutBucketLifecycleConfiguration", Bucket=bucket, LifecycleConfiguration={"Rules": rules})
            stored = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            assert [r["ID"] for r in stored] == [r["ID"] for r in rules]
        if encryption is not None:
            rules = to_api(encryption.inputs["rules"])
            _call(client, "PutBucketEncryption", Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
            stored = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert stored[0]["ApplyServerSideEncryptionByDefault"] == rules[0]["ApplyServerSideEncryptionByDefault"]
        if replication is not None:
            config = {"Role": replication.inputs["role"], "Rules": to_api(replication.inputs["rules"])}
            _call(client, "PutBucketReplication", Bucket=bucket, ReplicationConfiguration=config)
            stored = client.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
            assert stored["Role"] == config["Role"]
            assert [r["Destination"]["Bucket"] for r in stored["Rules"]] == [r["Destination"]["Bucket"] for r in config["Rules"]]


def assert_ecr_accepts(repository: PlannedResource, lifecycle_policy: PlannedResource, region: str = "us-east-1") -> None:
    """Create the planned repository in moto and put the planned lifecycle policy on it."""
    inputs = repository.inputs
    with moto.mock_aws():
        client = boto3.client("ecr", region_name=region)
        client.create_repository(
            repositoryName=inputs["name"],
            imageTagMutability=inputs["imageTagMutability"],
            imageScanningConfiguration={"scanOnPush": inputs["imageScanningConfiguration"]["scanOnPush"]},
            encryptionConfiguration={
                "encryptionType": inputs["encryptionConfigurations"][0]["encryptionType"],
                "kmsKey": inputs["encryptionConfigurations"][0]["kmsKey"],
            },
        )
        assert lifecycle_policy.inputs["repository"] == inputs["name"]
        client.put_lifecycle_policy(repositoryName=inputs["name"], lifecyclePolicyText=lifecycle_policy.inputs["policy"])
        stored = client.get_lifecycle_policy(repositoryName=inputs["name"])["lifecyclePolicyText"]
        assert json.loads(stored) == json.loads(lifecycle_policy.inputs["policy"])


def _key_policy_errors(document: str, account_id: str) -> list[str]:
    """What KMS CreateKey demands of a key policy and moto's KMS does not check.

    From the CreateKey API reference (Policy): the document fits the PolicyType shape (length, characters); each
    statement has a principal; statements without Action or Resource silently have no effect; and, short of
    BypassPolicyLockoutSafetyCheck, the policy lets the account keep managing the key (PutKeyPolicy), which the
    account root statement with kms:* does.
    """
    shape = botocore.session.get_session().get_service_model("kms").operation_model("CreateKey").input_shape.members["Policy"]
    errors = []
    if not shape.metadata["min"] <= len(document) <= shape.metadata["max"]:
        errors.append(f"policy length {len(document)} outside {shape.metadata['min']}..{shape.metadata['max']}")
    if not re.fullmatch(shape.metadata["pattern"], document):
        errors.append(f"policy has characters outside {shape.metadata['pattern']}")
    statements = json.loads(document)["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    for i, statement in enumerate(statements):
        errors += [f"statement {i} has no {element}" for element in ("Principal", "Action", "Resource") if not statement.get(element)]
    root = f"arn:aws:iam::{account_id}:root"
    administers = {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}
    if not any({k: v for k, v in s.items() if k != "Sid"} == administers for s in statements):
        errors.append(f"no unconditional kms:* for {root}: the key could become unmanageable")
    return errors


def assert_kms_accepts(key: PlannedResource, log_group: PlannedResource | None = None) -> str | None:
    """Create the planned key, with its key policy, in moto's KMS (in the key's region); given the log group the key
    encrypts, create that group under it in moto's CloudWatch Logs. Returns that group's ARN as CloudWatch Logs names
    it (what it puts in the kms:EncryptionContext:aws:logs:arn encryption context), else None.

    The policy also passes moto's IAM policy grammar (syntax, version, condition operators, action prefixes, unique
    Sids) and the CreateKey rules in ``_key_policy_errors``.
    """
    inputs = key.inputs
    _, _, _, region, account_id, _ = key.outputs["arn"].split(":", 5)
    document = inputs["policy"]
    IAMPolicyDocumentValidator(document).validate()
    errors = _key_policy_errors(document, account_id)
    assert errors == [], errors
    with moto.mock_aws():
        kms = boto3.client("kms", region_name=region)
        created = kms.create_key(
            Policy=document,
            Description=inputs["description"],
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in inputs.get("tags", {}).items()],
        )["KeyMetadata"]
        assert created["AWSAccountId"] == account_id, "moto's account differs from the mocks': the root ARN would not match"
        if inputs.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=created["KeyId"])
        assert kms.get_key_rotation_status(KeyId=created["KeyId"])["KeyRotationEnabled"] is bool(inputs.get("enableKeyRotation"))
        # moto evaluates the key policy's Deny statements on DescribeKey.
        assert kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]["Enabled"] is True
        stored = kms.get_key_policy(KeyId=created["KeyId"], PolicyName="default")["Policy"]
        assert json.loads(stored) == json.loads(document)
        if log_group is None:
            return None
        assert log_group.inputs["kmsKeyId"] == key.outputs["arn"], f"{log_group.name} is not encrypted with {key.name}"
        logs = boto3.client("logs", region_name=region)
        name = log_group.inputs["name"]
        logs.create_log_group(logGroupName=name, kmsKeyId=created["Arn"], tags=dict(log_group.inputs.get("tags", {})))
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(log_group.inputs["retentionInDays"]))
        (described,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert described["kmsKeyId"] == created["Arn"]
        return described["logGroupArn"]
