"""The one way the GCP components make a customer-managed key: a Cloud KMS key in its own key ring, rotating.

Key rings and keys can never be deleted in Cloud KMS (only their key versions are destroyed,
https://cloud.google.com/kms/docs/resource-hierarchy#lifetime), so their names are left to Pulumi's auto-naming: a
stack destroyed and brought up again gets new ones instead of failing on names that still exist.
"""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_gcp.kms as kms

# CIS Google Cloud Platform Foundation Benchmark 1.10: "Ensure KMS encryption keys are rotated within 90 days".
ROTATION_PERIOD = "7776000s"
# How long a destroyed key version can still be restored (Cloud KMS default, stated so it is visible).
DESTROY_SCHEDULED_DURATION = "2592000s"
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def customer_managed_key(
    parent: pulumi.Resource,
    name: str,
    *,
    location: pulumi.Input[str],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    users: Mapping[str, pulumi.Input[str]],
) -> tuple[kms.CryptoKey, list[kms.CryptoKeyIAMMember]]:
    """A symmetric key in a key ring of its own in ``location``, and encrypt/decrypt on it for each of ``users``
    (service agents, by a short name -> IAM member). Resources that use the key must depend on those grants."""
    ring = kms.KeyRing(f"{name}-ring", location=location, opts=opts)
    key = kms.CryptoKey(
        name,
        key_ring=ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=ROTATION_PERIOD,
        destroy_scheduled_duration=DESTROY_SCHEDULED_DURATION,
        labels=dict(labels),
        opts=opts,
    )
    grants = [
        kms.CryptoKeyIAMMember(
            f"{name}-{who}",
            crypto_key_id=key.id,
            role=ENCRYPTER_DECRYPTER,
            member=member,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for who, member in users.items()
    ]
    return key, grants
