"""The one way the AWS components make a customer-managed KMS key: rotating yearly, 30 days to cancel a deletion."""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_aws.kms as kms

DELETION_WINDOW_DAYS = 30  # the longest KMS allows: a mistaken delete can be cancelled for a month


def customer_managed_key(
    name: str,
    description: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    policy: pulumi.Input[str] | None = None,
) -> kms.Key:
    """A symmetric key with automatic rotation; ``policy`` None keeps KMS's default (the account administers it)."""
    return kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        policy=policy,
        tags=dict(tags),
        opts=opts,
    )
