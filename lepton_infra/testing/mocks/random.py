"""Answers of the Random provider (pulumi_random): a ``result`` of the asked length, stable per resource name."""

from __future__ import annotations

import hashlib

PREFIX = "random"


def _password(m, name, inputs, region):
    length = int(inputs.get("length") or 16)
    digest = hashlib.sha256(name.encode()).hexdigest()
    result = (digest * (length // len(digest) + 1))[:length]
    return f"{name}-{digest[:8]}", {"result": result, "bcryptHash": f"$2a$10${digest[:53]}"}


RESOURCES = {"random:index/randomPassword:RandomPassword": _password}
INVOKES: dict = {}
