"""Customer-managed encryption on every data store (docs/design.md, "Data lake").

- S3: default encryption SSE-KMS (``aws:kms`` or ``aws:kms:dsse``) with a key named. Exception, as AWS requires: a
  bucket that receives S3 server access logs may only use SSE-S3 (S3 User Guide, "Enabling Amazon S3 server access
  logging": "default encryption with SSE-KMS is not supported for server access logging destination buckets"), so
  there SSE-S3 (AES256) is what is right.
- ECR: ``encryptionConfigurations`` KMS with a key; CloudWatch log groups and CloudTrail trails: ``kmsKeyId``.
- Azure storage: ``encryption.keySource`` Microsoft.Keyvault with ``keyVaultProperties`` (a Key Vault key);
  ACR: ``encryption.status`` enabled with a ``keyVaultProperties.keyIdentifier`` (Premium SKU only). A cell whose
  spec sets the named opt-out ``registry.customer_managed_key: false`` (an existing registry: ACR takes a key only at
  creation) gets an advisory acknowledged exception instead (the registry's cell read from its cell tag).
- GCS: ``encryption.defaultKmsKeyName`` (CMEK); BigQuery: ``defaultEncryptionConfiguration.kmsKeyName``;
  Artifact Registry: ``kmsKeyName``; Cloud Logging buckets: ``cmekSettings.kmsKeyName``.
- Named exception, Microsoft-managed keys: Log Analytics workspaces (the Azure cell's audit logs). A customer-managed
  key is set on a dedicated Log Analytics cluster the workspace links to, which bills a commitment tier from 100 GB a
  day (components/azure/audit_logs.py; docs/design.md, "Audit"). ``MICROSOFT_KEYED`` says so, so a workspace is
  passed knowingly, not overlooked.
- Existing clusters: the lake is SeaweedFS from its Helm chart (or an external S3 endpoint): not visible here.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get, items, of_type

NAME = "customer-managed-encryption"
AZURE_CELL_TAG = "lepton.ai_cell"  # lepton_infra.conventions.CELL_TAG as lepton_infra.spec.azure.azure_tags spells it
ACKNOWLEDGED = "advisory"
S3_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
# Stores whose key is one input: (its path, what the store is, what would be right).
KEY_FIELD = {
    t.LOG_GROUP: (("kmsKeyId",), "CloudWatch log group", "kmsKeyId set to a customer-managed KMS key ARN"),
    t.GCS_BUCKET: (("encryption", "defaultKmsKeyName"), "GCS bucket", "encryption.defaultKmsKeyName set to a Cloud KMS key (CMEK)"),
    t.BIGQUERY_DATASET: (
        ("defaultEncryptionConfiguration", "kmsKeyName"), "BigQuery dataset",
        "defaultEncryptionConfiguration.kmsKeyName set to a Cloud KMS key",
    ),
    t.ARTIFACT_REPOSITORY: (("kmsKeyName",), "Artifact Registry repository", "kmsKeyName set to a Cloud KMS key"),
    t.CLOUDTRAIL_TRAIL: (("kmsKeyId",), "CloudTrail trail", "kmsKeyId set to a customer-managed KMS key ARN (SSE-KMS log files)"),
    t.GCP_LOG_BUCKET: (("cmekSettings", "kmsKeyName"), "Cloud Logging bucket", "cmekSettings.kmsKeyName set to a Cloud KMS key"),
}
# Stores left under their cloud's own keys on purpose, with the reason (the module's docstring says more).
MICROSOFT_KEYED = {
    t.LOG_ANALYTICS_WORKSPACE: "Log Analytics workspace: a customer-managed key needs a dedicated Log Analytics cluster "
    "(commitment tier from 100 GB a day), far above a cell's audit logs",
}


def _s3_default_encryption(bucket: Resource, configurations: dict) -> list:
    """The applyServerSideEncryptionByDefault blocks that apply to a bucket: its own configuration resource's, or
    the bucket's inline (deprecated) ones."""
    config = configurations.get(get(bucket.inputs, "bucket"))
    rules = items(get(config.inputs, "rules")) if config else []
    rules += items(get(bucket.inputs, "serverSideEncryptionConfiguration", "rule"))
    return [get(rule, "applyServerSideEncryptionByDefault") for rule in rules if get(rule, "applyServerSideEncryptionByDefault")]


def check(resources: list[Resource], stack: StackContext) -> Iterator[tuple[str, str]]:
    configurations = {get(r.inputs, "bucket"): r for r in of_type(resources, *t.S3_ENCRYPTION)}
    log_targets = {get(r.inputs, "targetBucket") for r in of_type(resources, *t.S3_LOGGING)}
    for bucket in of_type(resources, *t.S3_BUCKETS):
        name = get(bucket.inputs, "bucket") or bucket.name
        defaults = _s3_default_encryption(bucket, configurations)
        algorithms = [get(d, "sseAlgorithm") for d in defaults]
        if get(bucket.inputs, "bucket") in log_targets:
            if not any(a in ("AES256", *S3_KMS_ALGORITHMS) for a in algorithms):
                yield bucket.urn, (
                    f"S3 bucket {name} (a server access log destination) has no default encryption; right: SSE-S3 "
                    "(sseAlgorithm AES256), the only default encryption S3 access logging delivers to"
                )
            continue
        if not defaults:
            yield bucket.urn, (
                f"S3 bucket {name} has no default encryption configuration; right: a "
                "BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and a customer-managed kmsMasterKeyId"
            )
        elif not any(get(d, "sseAlgorithm") in S3_KMS_ALGORITHMS and get(d, "kmsMasterKeyId") for d in defaults):
            yield bucket.urn, (
                f"S3 bucket {name} is encrypted with {', '.join(map(str, algorithms))} and no customer-managed key; "
                "right: sseAlgorithm aws:kms with kmsMasterKeyId set to a KMS key the stack manages"
            )
    for repo in of_type(resources, t.ECR_REPOSITORY):
        if not any(get(c, "encryptionType") == "KMS" and get(c, "kmsKey") for c in items(get(repo.inputs, "encryptionConfigurations"))):
            yield repo.urn, (
                f"ECR repository {repo.name} is encrypted with an AWS-owned key (AES256 by default); right: "
                "encryptionConfigurations [{encryptionType: KMS, kmsKey: <customer-managed key ARN>}]"
            )
    for store in of_type(resources, *KEY_FIELD):
        path, what, right = KEY_FIELD[store.type]
        if not get(store.inputs, *path):
            yield store.urn, f"{what} {store.name} is not under a customer-managed key; right: {right}"
    for account in of_type(resources, t.AZURE_STORAGE_ACCOUNT):
        encryption = get(account.inputs, "encryption")
        vault_key = get(encryption, "keyVaultProperties", "keyName") and get(encryption, "keyVaultProperties", "keyVaultUri")
        if get(encryption, "keySource") != "Microsoft.Keyvault" or not vault_key:
            yield account.urn, (
                f"Azure storage account {account.name} uses Microsoft-managed keys; right: encryption.keySource "
                "Microsoft.Keyvault with keyVaultProperties (keyName, keyVaultUri) and an encryption identity"
            )
    for registry in of_type(resources, t.AZURE_REGISTRY):
        encryption = get(registry.inputs, "encryption")
        if get(encryption, "status") == "enabled" and get(encryption, "keyVaultProperties", "keyIdentifier"):
            continue
        cell = get(registry.inputs, "tags", AZURE_CELL_TAG)
        if stack.opts_out(cell, "registry", "customer_managed_key"):
            yield registry.urn, (
                f"acknowledged exception: Azure container registry {registry.name} is encrypted with a Microsoft-managed "
                f"key, as cell {cell}'s spec says (registry.customer_managed_key: false; ACR takes a customer-managed "
                "key only when the registry is created)"
            ), ACKNOWLEDGED
        else:
            yield registry.urn, (
                f"Azure container registry {registry.name} is encrypted with a Microsoft-managed key; right: "
                "encryption {status: enabled, keyVaultProperties: {keyIdentifier: <Key Vault key URI>, identity: "
                "<user-assigned identity client id>}} (Premium SKU)"
            )


RULE = Rule(
    NAME,
    "Every data store is encrypted with a customer-managed key (S3, ECR, CloudWatch Logs, CloudTrail, Azure storage and "
    "ACR, GCS, BigQuery, Artifact Registry, Cloud Logging buckets); Log Analytics workspaces are a named exception.",
    "stack",
    check,
    not_covered=(
        "the existing-cluster lake (SeaweedFS, a Helm release; or an external S3 endpoint)",
        *(f"by design, {reason}" for reason in MICROSOFT_KEYED.values()),
    ),
    acknowledges=True,
)
