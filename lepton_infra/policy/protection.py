"""Data protected in protected environments (docs/design.md, "Data safety"): every data-bearing resource carries
``protect`` when the stack's spec says ``protected: true``, so the engine refuses to delete it."""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext

NAME = "data-protected"
DATA_BEARING = (
    *t.S3_BUCKETS, t.KMS_KEY, t.LOG_GROUP, t.ECR_REPOSITORY, t.EKS_CLUSTER,
    t.AZURE_STORAGE_ACCOUNT, t.AZURE_BLOB_CONTAINER, t.AZURE_VAULT, t.AZURE_KEY, t.AZURE_REGISTRY, t.AKS_CLUSTER,
    t.LOG_ANALYTICS_WORKSPACE,
    t.GCS_BUCKET, t.BIGQUERY_DATASET, t.GCP_KMS_KEY, t.GCP_KEY_RING, t.ARTIFACT_REPOSITORY, t.GKE_CLUSTER, t.GCP_LOG_BUCKET,
)


def check(resource: Resource, stack: StackContext) -> Iterator[str]:
    if stack.protected and resource.type in DATA_BEARING and not resource.protect:
        yield (
            f"{resource.type} {resource.name} holds data in the protected environment {stack.environment} but is not "
            "protected; right: protect (and retain_on_delete), as components/_resource_options.data_options gives"
        )


RULE = Rule(
    NAME,
    "In a protected environment every data-bearing resource (buckets, keys, log groups and audit log stores, "
    "registries, clusters, storage accounts, datasets) is protected from deletion.",
    "resource",
    check,
)
