"""Images by content: a digest (``@sha256:``) or a tag derived from the content (``<version>-<12+ hex>``, as
components/kubernetes/serving_image.py tags the serving image); never ``latest`` and never untagged (which means
``latest``). A version tag alone can be pushed again with other content; a digest or content tag cannot."""

from __future__ import annotations

import re
from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, get, items
from .workloads import containers, pod_spec

NAME = "pinned-images"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
CONTENT_TAG = re.compile(r"[-_.][0-9a-f]{12,64}$")


def problem(image: str) -> str | None:
    """What is wrong with an image reference, or None when it names its content."""
    if DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "is untagged (so it means latest)"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return "uses the tag latest"
    if not CONTENT_TAG.search(tag):
        return f"uses the tag {tag}, which does not name its content"
    return None


def check(resource: Resource, stack: StackContext) -> Iterator[str]:
    right = "right: an @sha256 digest or a content tag (<version>-<content hash>)"
    pod = pod_spec(resource)
    for container in containers(pod) if pod is not None else []:
        image = get(container, "image")
        what = problem(image) if isinstance(image, str) else "has no image"
        if what:
            yield f"container {resource.name}/{get(container, 'name')}: image {image} {what}; {right}"
    if resource.type == t.DOCKER_BUILD_IMAGE:
        for tag in items(get(resource.inputs, "tags")):
            what = problem(tag) if isinstance(tag, str) else None
            if what:
                yield f"image build {resource.name}: {tag} {what}; {right}"


RULE = Rule(
    NAME,
    "Images are referenced by digest or by a content tag: never latest, never untagged.",
    "resource",
    check,
    not_covered=("images inside Helm releases' values (rendered by Helm at apply time)",),
)
