"""Answers of the Docker Build provider (pulumi_docker_build): a registry digest that depends on content only."""

from __future__ import annotations

import hashlib
import json

PREFIX = "docker-build"


def _docker_image(m, name, inputs, region):
    # A registry digest depends on the image's content, which the content-addressed tag, build args and platforms
    # stand for; never on where the build context sits on this machine.
    content = {k: inputs.get(k) for k in ("tags", "buildArgs", "platforms", "target")}
    digest = "sha256:" + hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    tags = inputs.get("tags") or [f"{name}:latest"]
    return f"{name}-{digest[7:19]}", {"digest": digest, "ref": f"{tags[0].rsplit(':', 1)[0]}@{digest}"}


RESOURCES = {"docker-build:index:Image": _docker_image}
INVOKES: dict = {}
