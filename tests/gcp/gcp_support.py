"""Shared helpers for the GCP component tests: the stack's GCP config, resource types, and refused args."""

from __future__ import annotations

from typing import Callable

from lepton_infra.spec import SpecError
from lepton_infra.testing import OfflinePlan, run
from lepton_infra.testing import rejected as refused

PROJECT = "lepton-dev-123456"
REGION = "europe-west4"
CONFIG = {"gcp:project": PROJECT, "gcp:region": REGION}
# The project number the mocks derive from PROJECT, as organizations.get_project returns it.
PROJECT_NUMBER = "761202206741"

KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
DATASET = "gcp:bigquery/dataset:Dataset"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
REPOSITORY_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def gcp_run(program: Callable[[], object], **kwargs) -> OfflinePlan:
    """Run ``program`` with the stack's GCP config (project and region), as `pulumi up` would have it."""
    return run(program, config={**CONFIG, **kwargs.pop("config", {})}, **kwargs)


def rejected(build: Callable[[], object], **kwargs) -> tuple[SpecError, OfflinePlan]:
    """The SpecError ``build`` raises and the plan it left behind (expected empty)."""
    return refused(build, config={**CONFIG, **kwargs.pop("config", {})}, **kwargs)


def key_users(plan: OfflinePlan, key) -> dict[str, str]:
    """member -> role of every IAM grant on ``key`` (a planned CryptoKey)."""
    return {g.inputs["member"]: g.inputs["role"] for g in plan.of_type(KEY_MEMBER) if g.inputs["cryptoKeyId"] == key.outputs["id"]}


def assert_rotating_key_in(plan: OfflinePlan, key, region: str = REGION) -> None:
    """``key`` rotates every 90 days, encrypts and decrypts, and lives in a key ring of ``region``."""
    assert key.inputs["rotationPeriod"] == "7776000s"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.inputs["destroyScheduledDuration"] == "2592000s"
    (ring,) = [r for r in plan.of_type(KEY_RING) if r.outputs["id"] == key.inputs["keyRing"]]
    assert ring.inputs["location"] == region
