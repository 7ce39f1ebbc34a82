"""No public buckets or blobs.

- S3: a BucketPublicAccessBlock with all four settings true, and no public canned ACL.
- Azure: ``allowBlobPublicAccess`` false on the account, ``publicAccess`` None on each container; ACR
  ``anonymousPullEnabled`` not true.
- GCS: ``publicAccessPrevention`` enforced, and no IAM grant to allUsers / allAuthenticatedUsers on a bucket or an
  Artifact Registry repository.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get, items, of_type

NAME = "no-public-data"
BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def check(resources: list[Resource], stack: StackContext) -> Iterator[tuple[str, str]]:
    blocks = {get(r.inputs, "bucket"): r for r in of_type(resources, t.S3_PUBLIC_ACCESS_BLOCK)}
    for bucket in of_type(resources, *t.S3_BUCKETS):
        name = get(bucket.inputs, "bucket") or bucket.name
        block = blocks.get(get(bucket.inputs, "bucket"))
        missing = [s for s in BLOCK_SETTINGS if not block or get(block.inputs, s) is not True]
        if missing:
            yield bucket.urn, (
                f"S3 bucket {name} does not block public access ({', '.join(missing)} not true); right: a "
                f"BucketPublicAccessBlock with {', '.join(BLOCK_SETTINGS)} all true"
            )
        if get(bucket.inputs, "acl") in PUBLIC_ACLS:
            yield bucket.urn, f"S3 bucket {name} has the public ACL {get(bucket.inputs, 'acl')}; right: no ACL (ownership BucketOwnerEnforced)"
    for acl in of_type(resources, *t.S3_ACL):
        if get(acl.inputs, "acl") in PUBLIC_ACLS:
            yield acl.urn, f"S3 bucket ACL {acl.name} is {get(acl.inputs, 'acl')}; right: private (or ACLs disabled)"
    for account in of_type(resources, t.AZURE_STORAGE_ACCOUNT):
        if get(account.inputs, "allowBlobPublicAccess") is not False:
            yield account.urn, f"Azure storage account {account.name} does not set allowBlobPublicAccess false; right: allowBlobPublicAccess: false"
    for container in of_type(resources, t.AZURE_BLOB_CONTAINER):
        if get(container.inputs, "publicAccess") not in (None, "None"):
            yield container.urn, (
                f"Azure blob container {container.name} has publicAccess {get(container.inputs, 'publicAccess')}; right: None"
            )
    for registry in of_type(resources, t.AZURE_REGISTRY):
        if get(registry.inputs, "anonymousPullEnabled") is True:
            yield registry.urn, f"Azure container registry {registry.name} allows anonymous pull; right: anonymousPullEnabled false"
    for bucket in of_type(resources, t.GCS_BUCKET):
        if get(bucket.inputs, "publicAccessPrevention") != "enforced":
            yield bucket.urn, (
                f"GCS bucket {get(bucket.inputs, 'name') or bucket.name} does not enforce public access prevention; "
                "right: publicAccessPrevention: enforced"
            )
    for grant in of_type(resources, *t.GCS_BUCKET_IAM, *t.ARTIFACT_REPOSITORY_IAM):
        members = items(get(grant.inputs, "member")) + items(get(grant.inputs, "members"))
        public = [m for m in members if m in PUBLIC_MEMBERS]
        if public:
            yield grant.urn, f"IAM grant {grant.name} gives {', '.join(public)} access; right: named principals only"


RULE = Rule(
    NAME,
    "No bucket, blob container or registry is public (S3 public access block, Azure public blob access off, GCS "
    "public access prevention, no allUsers grants).",
    "stack",
    check,
)
