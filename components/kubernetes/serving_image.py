"""The torch serving image, built from serving/ and pushed to the cell's registry (ECR / ACR / Artifact Registry).

Built with pulumi_docker_build (BuildKit). serving/Dockerfile builds from the repository root (it copies
``serving/...``; serving/Dockerfile.dockerignore trims the context), so the context is the directory that holds
serving/ and the Dockerfile defaults to ``<context>/serving/Dockerfile``. The pushed reference carries the digest, so
Deployments roll exactly when the image content changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pulumi
import pulumi_docker_build as docker_build
from pydantic import AfterValidator, Field, model_validator

from lepton_infra.spec import ComponentArgs, PulumiInput, SpecIssues, parse_model

from ._helm import child_name

TOKEN = "lepton:kubernetes:ServingImage"
# components/kubernetes/serving_image.py -> the repository root (holds serving/ in a source checkout, not in a wheel).
DEFAULT_CONTEXT = Path(__file__).resolve().parents[2]
DOCKERFILE = Path("serving") / "Dockerfile"


def _directory(value: str) -> str:
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"build context {value!r} is not a directory; pass the directory that holds serving/")
    return str(path.resolve())


class ServingImageArgs(ComponentArgs):
    context: Annotated[str, AfterValidator(_directory)] = str(DEFAULT_CONTEXT)
    dockerfile: str | None = Field(None, description="Defaults to <context>/serving/Dockerfile.")
    variant: Literal["cpu", "cuda"] = "cuda"
    repository_url: PulumiInput = Field(description="Registry repository, e.g. <account>.dkr.ecr.<region>.amazonaws.com/serving.")
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    registry: PulumiInput = Field(description="Push credentials: {server, username, password} (a plain dict or an Output of one).")
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


def _registry_login(registry: pulumi.Input[Any]) -> docker_build.RegistryArgs:
    """Push credentials for BuildKit; the address is the registry host (ECR's proxy endpoint carries https://)."""
    creds = pulumi.Output.from_input(registry)
    return docker_build.RegistryArgs(
        address=creds.apply(lambda r: str(r["server"]).removeprefix("https://").removeprefix("http://").rstrip("/")),
        username=creds.apply(lambda r: r["username"]),
        password=pulumi.Output.secret(creds.apply(lambda r: r["password"])),
    )


class ServingImage(pulumi.ComponentResource):
    """A docker-build Image of serving/ (CPU or CUDA variant) pushed with the registry's credentials."""

    ref: pulumi.Output[str]
    digest: pulumi.Output[str]

    def __init__(self, name: str, args: ServingImageArgs | dict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(ServingImageArgs, args)
        super().__init__(TOKEN, name, None, opts)

        tagged = pulumi.Output.concat(args.repository_url, ":", args.tag)
        image = docker_build.Image(
            child_name(self, "image"),
            push=True,
            tags=[tagged],
            context=docker_build.BuildContextArgs(location=args.context),
            dockerfile=docker_build.DockerfileArgs(location=args.dockerfile_path),
            build_args={"VARIANT": args.variant},
            platforms=args.platforms,
            registries=[_registry_login(args.registry)],
            # Inline cache: layer metadata travels in the pushed image, so a rebuild of the tag reuses its layers
            # without a separate (mutable) cache tag, which an immutable-tag repository would refuse.
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=tagged))],
            cache_to=[docker_build.CacheToArgs(inline=docker_build.CacheToInlineArgs())],
            build_on_preview=args.build_on_preview,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.ref = image.ref
        self.digest = image.digest
        self.register_outputs({"ref": self.ref, "digest": self.digest})
