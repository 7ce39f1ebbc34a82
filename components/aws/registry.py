"""The cell's container registry: an ECR repository for the serving image, and the credentials to push to it.

Security by default: images are scanned on push, tags are immutable (a tag always names the same image, so a
deployment's ``image:tag`` cannot silently change), and layers are encrypted with a customer-managed KMS key.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict
import json

import pulumi
import pulumi_aws.ecr as ecr
from pydantic import Field

from lepton_infra.conventions import physical_name, stack_scoped_name
from lepton_infra.spec import ComponentArgs, NamePrefix, RegistrySpec, parse_model

from .._resource_options import data_options
from ._kms import customer_managed_key

TOKEN = "lepton:aws:ContainerRegistry"
UNTAGGED_EXPIRY_DAYS = 14
# ECR repository names: up to 256 characters, lowercase, may contain '/' namespaces.
_REPOSITORY_NAME_MAX = 256


class ContainerRegistryArgsDict(TypedDict, total=False):
    """ContainerRegistryArgs as a plain dict: the same keys, validated the same way."""

    spec: RegistrySpec | Mapping[str, Any]
    name_prefix: NamePrefix | None
    protected: bool
    tags: Mapping[str, str]


class ContainerRegistryArgs(ComponentArgs):
    spec: RegistrySpec = Field(default_factory=RegistrySpec)
    name_prefix: NamePrefix | None = Field(
        None, description="Namespace of the repository name, e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    protected: bool = Field(False, description="protect + retain_on_delete on the repository and its key (prod).")
    tags: dict[str, str] = Field(default_factory=dict)


def lifecycle_policy(keep_images: int) -> str:
    """ECR lifecycle policy: expire untagged images after 14 days, and any image beyond the newest ``keep_images``.

    Rules are evaluated by ascending rulePriority; a ``tagStatus: any`` rule must have the highest priority value
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lifecycle_policy_parameters).
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images {UNTAGGED_EXPIRY_DAYS} days after push",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_EXPIRY_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep only the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def _push_credentials(token) -> dict[str, str]:
    # The proxy endpoint is https://<account>.dkr.ecr.<region>.amazonaws.com; docker logins want the host.
    return {"server": token.proxy_endpoint.removeprefix("https://"), "username": token.user_name, "password": token.password}


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository (scan on push, immutable tags, KMS) with its lifecycle policy and push credentials."""

    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    credentials: pulumi.Output[dict]

    def __init__(
        self, name: str, args: ContainerRegistryArgs | ContainerRegistryArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(ContainerRegistryArgs, args)
        super().__init__(TOKEN, name, None, opts)
        data_opts = data_options(self, args.protected)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        repository_name = physical_name(prefix, args.spec.repository, max_length=_REPOSITORY_NAME_MAX)

        key = customer_managed_key(f"{name}-key", f"Encrypts the {repository_name} container images", args.tags, data_opts)
        repository = ecr.Repository(
            f"{name}-repository",
            name=repository_name,
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
            force_delete=False,
            tags=args.tags,
            opts=data_opts,
        )
        ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(args.spec.keep_images),
            opts=pulumi.ResourceOptions(parent=self),
        )
        token = ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )

        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.registry_id = repository.registry_id
        self.kms_key_arn = key.arn
        self.credentials = pulumi.Output.secret(token.apply(_push_credentials))
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "repository_arn": self.repository_arn,
                "registry_id": self.registry_id,
                "kms_key_arn": self.kms_key_arn,
                "credentials": self.credentials,
            }
        )
