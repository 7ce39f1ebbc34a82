"""Resource options every component gives its data-bearing children (buckets, keys, repositories, log groups)."""

from __future__ import annotations

import pulumi


def data_options(parent: pulumi.Resource, protected: bool, **extra) -> pulumi.ResourceOptions:
    """Protected and kept on delete when the environment is protected; otherwise ``protect`` is left unset.

    Unset, a child inherits ``protect`` from its parent, so a component never weakens protection that its caller
    asked for (``DataLake(..., opts=ResourceOptions(protect=True))`` keeps every bucket and key protected).
    """
    keep = True if protected else None
    return pulumi.ResourceOptions(parent=parent, protect=keep, retain_on_delete=keep, **extra)
