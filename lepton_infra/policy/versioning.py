"""Versioning on data buckets (docs/design.md, "Data safety").

- S3: a BucketVersioning with status Enabled; GCS: ``versioning.enabled`` true.
- Azure: an account with a hierarchical namespace (ADLS Gen2) cannot turn on blob versioning, so there soft delete
  of blobs and of containers (BlobServiceProperties ``deleteRetentionPolicy`` / ``containerDeleteRetentionPolicy``
  enabled) is what is right; other accounts: ``isVersioningEnabled`` true.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get, items, of_type

NAME = "data-versioning"


def check(resources: list[Resource], stack: StackContext) -> Iterator[tuple[str, str]]:
    versioning = {get(r.inputs, "bucket"): r for r in of_type(resources, *t.S3_VERSIONING)}
    for bucket in of_type(resources, *t.S3_BUCKETS):
        name = get(bucket.inputs, "bucket") or bucket.name
        config = versioning.get(get(bucket.inputs, "bucket"))
        status = get(config.inputs, "versioningConfiguration", "status") if config else None
        if status != "Enabled" and get(bucket.inputs, "versioning", "enabled") is not True:
            yield bucket.urn, f"S3 bucket {name} is not versioned ({status or 'no BucketVersioning'}); right: a BucketVersioning with status Enabled"
    for bucket in of_type(resources, t.GCS_BUCKET):
        if get(bucket.inputs, "versioning", "enabled") is not True:
            yield bucket.urn, f"GCS bucket {get(bucket.inputs, 'name') or bucket.name} is not versioned; right: versioning.enabled true"
    services = {get(r.inputs, "accountName"): r for r in of_type(resources, t.AZURE_BLOB_SERVICE)}
    for account in of_type(resources, t.AZURE_STORAGE_ACCOUNT):
        service = services.get(get(account.inputs, "accountName"))
        inputs = service.inputs if service else {}
        if get(account.inputs, "isHnsEnabled") is True:
            off = [p for p in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy") if get(inputs, p, "enabled") is not True]
            if off:
                yield account.urn, (
                    f"Azure storage account {account.name} (ADLS Gen2, which has no blob versioning) has no soft delete "
                    f"({', '.join(off)} not enabled); right: BlobServiceProperties with both enabled"
                )
        elif get(inputs, "isVersioningEnabled") is not True:
            yield account.urn, f"Azure storage account {account.name} has blob versioning off; right: BlobServiceProperties isVersioningEnabled true"


RULE = Rule(
    NAME,
    "Data buckets keep earlier versions (S3 and GCS versioning; Azure ADLS Gen2, which has none, soft delete).",
    "stack",
    check,
)
