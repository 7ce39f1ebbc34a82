"""Small resources for the rule tests: each case a set that passes a rule, and the same set changed to break it."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from lepton_infra.policy import Resource, StackContext

PROTECTED = StackContext(environment="prod", protected=True)
UNPROTECTED = StackContext(environment="dev", protected=False)
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234"
BUCKET = "prod-raw-123456789012"
DIGEST = "@sha256:" + "ab" * 32


def resource(type_: str, name: str, inputs: dict[str, Any], protect: bool = False, provider: str | None = None) -> Resource:
    return Resource(type=type_, name=name, urn=f"urn:pulumi:prod::p::{type_}::{name}", inputs=inputs, protect=protect, provider=provider)


def changed(resources: list[Resource], name: str, change: Callable[[dict], Any]) -> list[Resource]:
    """``resources`` with the inputs of the one named ``name`` changed by ``change`` (which edits a copy in place)."""
    out = []
    for r in resources:
        if r.name == name:
            inputs = copy.deepcopy(dict(r.inputs))
            change(inputs)
            r = Resource(r.type, r.name, r.urn, inputs, r.protect, r.parent, r.provider)
        out.append(r)
    return out


def s3_bucket(name: str = BUCKET) -> list[Resource]:
    """An S3 bucket as the AWS DataLake makes it: SSE-KMS, versioning, public access block, TLS-only policy."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}
    return [
        resource("aws:s3/bucket:Bucket", "bucket", {"bucket": name}, protect=True),
        resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "bucket-encryption",
            {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}]},
        ),
        resource("aws:s3/bucketVersioning:BucketVersioning", "bucket-versioning", {"bucket": name, "versioningConfiguration": {"status": "Enabled"}}),
        resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-pab",
            {"bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        ),
        resource("aws:s3/bucketPolicy:BucketPolicy", "bucket-policy", {"bucket": name, "policy": json.dumps(policy)}),
    ]


def azure_lake() -> list[Resource]:
    return [
        resource("azure-native:storage:StorageAccount", "account", {
            "accountName": "prodlake", "isHnsEnabled": True, "allowBlobPublicAccess": False, "minimumTlsVersion": "TLS1_2",
            "enableHttpsTrafficOnly": True,
            "encryption": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": {"keyName": "lake", "keyVaultUri": "https://v.vault.azure.net/"}},
        }, protect=True),
        resource("azure-native:storage:BlobServiceProperties", "blob-service", {
            "accountName": "prodlake", "isVersioningEnabled": False,
            "deleteRetentionPolicy": {"days": 30, "enabled": True}, "containerDeleteRetentionPolicy": {"days": 30, "enabled": True},
        }),
        resource("azure-native:storage:BlobContainer", "raw", {"accountName": "prodlake", "containerName": "raw", "publicAccess": "None"}, protect=True),
    ]


def gcs_bucket() -> list[Resource]:
    return [resource("gcp:storage/bucket:Bucket", "gcs", {
        "name": "prod-raw", "versioning": {"enabled": True}, "publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True,
        "encryption": {"defaultKmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"},
    }, protect=True)]


def deployment(gpus: int = 1, image: str = "registry.example/serving" + DIGEST) -> Resource:
    limits = {"cpu": "2", "memory": "8Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    pod = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
        "containers": [{
            "name": "server", "image": image,
            "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
            "resources": {"requests": dict(limits), "limits": dict(limits)},
        }],
    }
    if gpus:
        pod["nodeSelector"] = {"lepton.ai/accelerator": "l4"}
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    return resource("kubernetes:apps/v1:Deployment", "model", {"spec": {"template": {"spec": pod}}})
