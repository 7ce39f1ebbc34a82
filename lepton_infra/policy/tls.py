"""TLS-only access to data stores.

- S3: a bucket policy statement that denies every s3 action on the bucket and its objects when
  ``aws:SecureTransport`` is false (S3 User Guide, "Security best practices": enforce encryption of data in transit).
- Azure storage: ``minimumTlsVersion`` TLS1_2 (or newer) and ``enableHttpsTrafficOnly`` true.
- GCS: TLS-only by design: the Cloud Storage JSON and XML APIs are served over HTTPS only, and a bucket has no
  setting that allows plain HTTP, so there is nothing to check.
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, document, get, items, of_type

NAME = "tls-only-access"
AZURE_TLS_OK = ("TLS1_2", "TLS1_3")


def _denies_insecure_transport(policy: Resource | None, bucket_name: str) -> bool:
    doc = document(get(policy.inputs, "policy")) if policy else None
    if doc is None:
        return False
    for statement in items(get(doc, "Statement")):
        actions = items(get(statement, "Action"))
        resources = items(get(statement, "Resource"))
        covered = {f"arn:aws:s3:::{bucket_name}", f"arn:aws:s3:::{bucket_name}/*"} <= set(resources)
        if (
            get(statement, "Effect") == "Deny"
            and get(statement, "Principal") in ("*", {"AWS": "*"})
            and any(a in ("s3:*", "*") for a in actions)
            and covered
            and str(get(statement, "Condition", "Bool", "aws:SecureTransport")).lower() == "false"
        ):
            return True
    return False


def check(resources: list[Resource], stack: StackContext) -> Iterator[tuple[str, str]]:
    policies = {get(r.inputs, "bucket"): r for r in of_type(resources, t.S3_POLICY)}
    for bucket in of_type(resources, *t.S3_BUCKETS):
        name = get(bucket.inputs, "bucket") or bucket.name
        if not _denies_insecure_transport(policies.get(get(bucket.inputs, "bucket")), name):
            yield bucket.urn, (
                f"S3 bucket {name} accepts requests over plain HTTP; right: a bucket policy statement Deny, Principal "
                f'"*", Action s3:*, Resource the bucket and its objects, Condition Bool aws:SecureTransport "false"'
            )
    for account in of_type(resources, t.AZURE_STORAGE_ACCOUNT):
        tls = get(account.inputs, "minimumTlsVersion")
        if tls not in AZURE_TLS_OK:
            yield account.urn, f"Azure storage account {account.name} accepts TLS older than 1.2 ({tls}); right: minimumTlsVersion TLS1_2"
        if get(account.inputs, "enableHttpsTrafficOnly") is False:
            yield account.urn, f"Azure storage account {account.name} accepts plain HTTP; right: enableHttpsTrafficOnly true"


RULE = Rule(
    NAME,
    "Data stores accept TLS only (S3: a bucket policy denying aws:SecureTransport false; Azure storage: TLS 1.2 and "
    "HTTPS only; GCS serves HTTPS only by design).",
    "stack",
    check,
)
