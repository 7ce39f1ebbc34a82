"""The torch serving image, built from serving/ and pushed to the cell's registry (ECR / ACR / Artifact Registry).

Built with pulumi_docker_build (BuildKit). serving/Dockerfile builds from the repository root (it copies
``serving/...``; serving/Dockerfile.dockerignore trims the context), so the context is the directory that holds
serving/ and the Dockerfile defaults to ``<context>/serving/Dockerfile``. The pushed reference carries the digest, so
Deployments roll exactly when the image content changes.

The registry's tags are immutable (components/aws/registry.py), so the image is pushed under a content-addressed tag,
``<tag>-<12 hex>``: a sha256 over what determines the image (the Dockerfile, the build variant, the platforms and every
file of the context that the Dockerfile's .dockerignore lets through). Same inputs, same tag, on any machine; a change to
a shipped file is a new tag, which the registry accepts; a change to an ignored file is not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_docker_build as docker_build
from e2b_dockerfile_utils import PatternMatcher
from pydantic import AfterValidator, Field, model_validator

from lepton_infra.spec import (
    CONTENT_HASH_LENGTH,
    RELEASE_TAG_PATTERN,
    ComponentArgs,
    PulumiInput,
    SpecError,
    SpecIssues,
    parse_model,
)

from ._helm import child_name

TOKEN = "lepton:kubernetes:ServingImage"
DOCKERFILE = Path("serving") / "Dockerfile"
# pyproject.toml ships serving/ in the wheel as this package (lepton_infra/_image_context/serving/) and maps the same
# name to serving/ of a source checkout, so one lookup finds the image's sources whether the library was installed
# from PyPI or is a checkout: the directory that holds it is the build context either way.
SERVING_SOURCES = "lepton_infra._image_context.serving"


def packaged_context() -> Path:
    """The directory holding serving/ (with its Dockerfile), as installed with lepton-infra."""
    spec = importlib.util.find_spec(SERVING_SOURCES)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations or not (Path(locations[0]) / "Dockerfile").is_file():
        raise SpecError(
            [("context", f"this installation of lepton-infra has no serving image sources ({SERVING_SOURCES}); "
                         "reinstall it, or pass the directory that holds serving/ as the build context")],
            "ServingImageArgs",
        )
    return Path(locations[0]).resolve().parent


def _directory(value: str) -> str:
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"build context {value!r} is not a directory; pass the directory that holds serving/")
    return str(path.resolve())


class ServingImageArgsDict(TypedDict, total=False):
    """ServingImageArgs as a plain dict: the same keys, validated the same way."""

    context: str
    dockerfile: str | None
    variant: Literal["cpu", "cuda"]
    repository_url: Required[PulumiInput[str]]
    tag: Required[str]
    registry: Required[PulumiInput[Mapping[str, str] | None]]
    platforms: Sequence[Literal["linux/amd64", "linux/arm64"]]
    build_on_preview: bool


class ServingImageArgs(ComponentArgs):
    context: Annotated[str, AfterValidator(_directory)] = Field(
        default_factory=lambda: str(packaged_context()),
        description="The directory that holds serving/; default: the sources installed with lepton-infra.",
    )
    dockerfile: str | None = Field(None, description="Defaults to <context>/serving/Dockerfile.")
    variant: Literal["cpu", "cuda"] = "cuda"
    repository_url: PulumiInput[str] = Field(description="Registry repository, e.g. <account>.dkr.ecr.<region>.amazonaws.com/serving.")
    tag: str = Field(pattern=RELEASE_TAG_PATTERN, description="Release tag; the image is pushed as <tag>-<12 hex of its content>.")
    registry: PulumiInput[Mapping[str, str] | None] = Field(
        description="Push credentials: {server, username, password} (a plain dict or an Output of one); None pushes "
        "without credentials (a local registry)."
    )
    platforms: list[Literal["linux/amd64", "linux/arm64"]] = Field(default_factory=lambda: ["linux/amd64"], min_length=1)
    build_on_preview: bool = Field(
        False, description="Build during `pulumi preview` too (slow for the CUDA variant; PR previews need no daemon)."
    )

    @property
    def dockerfile_path(self) -> str:
        return str((Path(self.dockerfile) if self.dockerfile else Path(self.context) / DOCKERFILE).resolve())

    @model_validator(mode="after")
    def _dockerfile_exists(self) -> "ServingImageArgs":
        if not Path(self.dockerfile_path).is_file():
            raise SpecIssues([(("dockerfile",), f"{self.dockerfile_path!r} does not exist; the image is built from a Dockerfile")])
        return self


def ignore_file(context: Path, dockerfile: Path) -> Path | None:
    """The ignore file BuildKit applies: ``<Dockerfile>.dockerignore`` beside the Dockerfile, else ``<context>/.dockerignore``."""
    for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            return candidate
    return None


def _bytecode(name: str) -> bool:
    return name == "__pycache__" or name.endswith(".pyc")


def context_files(context: Path, dockerfile: Path) -> list[str]:
    """The context's files BuildKit sends for ``dockerfile``: relative, '/'-separated, sorted; bytecode never counts.

    The matcher is a port of moby/patternmatcher (what BuildKit filters the context with): every pattern is anchored at
    the context root, a pattern matching a directory matches everything under it, ``**`` spans directories, and the last
    matching line wins, so ``!`` re-includes. An excluded directory is walked only if a ``!`` line could re-include
    something under it. Symlinks are entries of their own (BuildKit sends the link, not its target).
    """
    ignore = ignore_file(context, dockerfile)
    # Docker's ignore-file reader strips a UTF-8 byte-order mark; the matcher drops comments and blank lines itself.
    matcher = PatternMatcher(ignore.read_text(encoding="utf-8-sig").splitlines()) if ignore else None

    def excluded(rel: str) -> bool:
        return matcher is not None and matcher.matches(rel)

    files: list[str] = []
    for root, dirs, names in os.walk(context):
        prefix = Path(root).relative_to(context).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        walk: list[str] = []
        for name in dirs:
            rel = prefix + name
            if _bytecode(name):
                continue
            if os.path.islink(os.path.join(root, name)):
                if not excluded(rel):
                    files.append(rel)
            elif not excluded(rel) or matcher.may_match_under(rel):
                walk.append(name)
        dirs[:] = walk
        files.extend(prefix + name for name in names if not _bytecode(name) and not excluded(prefix + name))
    return sorted(files)


def content_hash(context: str | Path, dockerfile: str | Path, variant: str, platforms: list[str]) -> str:
    """12 hex characters of a sha256 over the build's inputs: the same on every machine for the same content.

    Hashed, each part length-prefixed so no two inputs frame alike: the Dockerfile's bytes, the variant, the
    platforms, and for each file of :func:`context_files` its relative path and the sha256 of its bytes (for a symlink,
    the path it points to). No modification times, owners or absolute paths.
    """
    context, dockerfile = Path(context), Path(dockerfile)
    digest = hashlib.sha256()

    def part(*values: bytes) -> None:
        for value in values:
            digest.update(b"%d:" % len(value))
            digest.update(value)

    part(b"dockerfile", dockerfile.read_bytes())
    part(b"variant", variant.encode())
    part(b"platforms", ",".join(platforms).encode())
    for rel in context_files(context, dockerfile):
        path = context / rel
        if path.is_symlink():
            part(b"link", rel.encode(), os.readlink(path).encode())
        else:
            with path.open("rb") as f:
                part(b"file", rel.encode(), hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:CONTENT_HASH_LENGTH]


def content_tag(args: ServingImageArgs) -> str:
    """``<tag>-<content hash>``; a bad ignore file is a SpecError naming the dockerfile (raised before any resource)."""
    try:
        suffix = content_hash(args.context, args.dockerfile_path, args.variant, args.platforms)
    except ValueError as exc:  # the matcher rejects a malformed pattern, as docker build would
        ignore = ignore_file(Path(args.context), Path(args.dockerfile_path))
        raise SpecError([("dockerfile", f"{ignore}: {exc}")], ServingImageArgs.__name__) from None
    return f"{args.tag}-{suffix}"


def _registry_login(registry: pulumi.Input[Any]) -> docker_build.RegistryArgs:
    """Push credentials for BuildKit; the address is the registry host (ECR's proxy endpoint carries https://)."""
    creds = pulumi.Output.from_input(registry)
    return docker_build.RegistryArgs(
        address=creds.apply(lambda r: str(r["server"]).removeprefix("https://").removeprefix("http://").rstrip("/")),
        username=creds.apply(lambda r: r["username"]),
        password=pulumi.Output.secret(creds.apply(lambda r: r["password"])),
    )


class ServingImage(pulumi.ComponentResource):
    """A docker-build Image of serving/ (CPU or CUDA variant) pushed with the registry's credentials.

    ``tag`` is the content-addressed tag, ``<args.tag>-<12 hex>``, computed from the files at program time (so preview
    shows it and it never moves under an immutable-tag registry). The build takes its inline cache from that same
    tag: there is no way to know the previous content's tag, and a moving cache tag is refused by an immutable
    repository. So the cache is a no-op on the first build of new content and a full hit when nothing changed.
    """

    tag: str
    ref: pulumi.Output[str]
    digest: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServingImageArgs | ServingImageArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(ServingImageArgs, args)
        tag = content_tag(args)  # before the component registers: a bad ignore file leaves nothing behind
        super().__init__(TOKEN, name, None, opts)
        self.tag = tag

        tagged = pulumi.Output.concat(args.repository_url, ":", self.tag)
        image = docker_build.Image(
            child_name(self, "image"),
            push=True,
            tags=[tagged],
            context=docker_build.BuildContextArgs(location=args.context),
            dockerfile=docker_build.DockerfileArgs(location=args.dockerfile_path),
            build_args={"VARIANT": args.variant},
            platforms=args.platforms,
            registries=[_registry_login(args.registry)] if args.registry is not None else None,
            # Inline cache: layer metadata travels in the pushed image, so a rebuild of the same content reuses its
            # layers without a separate (mutable) cache tag, which an immutable-tag repository would refuse.
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=tagged))],
            cache_to=[docker_build.CacheToArgs(inline=docker_build.CacheToInlineArgs())],
            build_on_preview=args.build_on_preview,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.ref = image.ref
        self.digest = image.digest
        self.register_outputs({"tag": self.tag, "ref": self.ref, "digest": self.digest})
