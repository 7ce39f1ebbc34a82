"""The cell's container registry: an Artifact Registry Docker repository for the serving image, and push credentials.

Security by default: tags are immutable (a tag always names the same image), images are encrypted with a Cloud KMS
key (CMEK: the Artifact Registry service agent may use it, https://cloud.google.com/artifact-registry/docs/cmek),
vulnerability scanning follows the project's Container Scanning setting (INHERITED: on wherever the project turned
the Container Scanning API on), and cleanup policies keep the repository to its newest images. Push credentials are
the deployer's own short-lived OAuth access token (user ``oauth2accesstoken``,
https://cloud.google.com/artifact-registry/docs/docker/authentication#token), never a service account key.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict

import pulumi
import pulumi_gcp.artifactregistry as artifactregistry
from pydantic import Field

from lepton_infra.conventions import stack_scoped_name
from lepton_infra.spec import ComponentArgs, NamePrefix, RegistrySpec, parse_model
from lepton_infra.spec.gcp import GcpLabels

from .._resource_options import data_options
from . import _project
from ._kms import customer_managed_key
from ._names import rfc1035

TOKEN = "lepton:gcp:ContainerRegistry"
UNTAGGED_EXPIRY = "1209600s"  # 14 days, as the AWS registry expires untagged images
TOKEN_USER = "oauth2accesstoken"
PULL_ROLE = "roles/artifactregistry.reader"


class ContainerRegistryArgsDict(TypedDict, total=False):
    """ContainerRegistryArgs as a plain dict: the same keys, validated the same way."""

    spec: RegistrySpec | Mapping[str, Any]
    name_prefix: NamePrefix | None
    protected: bool
    labels: GcpLabels


class ContainerRegistryArgs(ComponentArgs):
    spec: RegistrySpec = Field(default_factory=RegistrySpec)
    name_prefix: NamePrefix | None = Field(
        None, description="Prefix of the repository id, e.g. <env>-<cell>. Default: <stack>-<name>."
    )
    protected: bool = Field(False, description="protect + retain_on_delete on the repository and its key (prod).")
    labels: GcpLabels = Field(default_factory=dict)


def cleanup_policies(keep_images: int) -> list[dict[str, Any]]:
    """Keep the newest ``keep_images`` versions; delete untagged ones after 14 days and tagged ones beyond those.

    A KEEP policy wins over every DELETE policy (https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy),
    so the newest ``keep_images`` versions survive whatever their tags.
    """
    return [
        {"id": "keep-newest", "action": "KEEP", "most_recent_versions": {"keep_count": keep_images}},
        {"id": "delete-untagged", "action": "DELETE", "condition": {"tag_state": "UNTAGGED", "older_than": UNTAGGED_EXPIRY}},
        {"id": "delete-beyond-newest", "action": "DELETE", "condition": {"tag_state": "TAGGED"}},
    ]


def push_credentials(region: str, access_token: str) -> dict[str, str]:
    return {"server": f"https://{region}-docker.pkg.dev", "username": TOKEN_USER, "password": access_token}


class ContainerRegistry(pulumi.ComponentResource):
    """An Artifact Registry Docker repository (immutable tags, CMEK, scanning, cleanup) and its push credentials."""

    repository_url: pulumi.Output[str]
    repository_id: pulumi.Output[str]
    kms_key_id: pulumi.Output[str]
    credentials: pulumi.Output[dict]

    def __init__(
        self, name: str, args: ContainerRegistryArgs | ContainerRegistryArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(ContainerRegistryArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._resource_name = name
        data = data_options(self, args.protected)
        prefix = args.name_prefix or stack_scoped_name(pulumi.get_stack(), name)
        config = _project.client_config(self)

        key, key_grants = customer_managed_key(
            self,
            f"{name}-key",
            location=config.region,
            labels=args.labels,
            opts=data,
            users={"artifact-registry": _project.service_agent(self, config.project, _project.ARTIFACT_REGISTRY_SERVICE_AGENT)},
        )
        self.repository = artifactregistry.Repository(
            f"{name}-repository",
            repository_id=rfc1035(prefix, args.spec.repository),
            location=config.region,
            format="DOCKER",
            mode="STANDARD_REPOSITORY",
            description=f"Serving images of {prefix}",
            docker_config={"immutable_tags": True},
            kms_key_name=key.id,
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            cleanup_policies=cleanup_policies(args.spec.keep_images),
            cleanup_policy_dry_run=False,
            labels=args.labels,
            opts=pulumi.ResourceOptions.merge(data, pulumi.ResourceOptions(depends_on=key_grants)),
        )

        self.repository_url = self.repository.registry_uri
        self.repository_id = self.repository.id
        self.kms_key_id = key.id
        self.credentials = pulumi.Output.secret(
            pulumi.Output.all(self.repository.location, config.access_token).apply(lambda a: push_credentials(*a))
        )
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "repository_id": self.repository_id,
                "kms_key_id": self.kms_key_id,
                "credentials": self.credentials,
            }
        )

    def grant_pull(self, who: str, member: pulumi.Input[str]) -> artifactregistry.RepositoryIamMember:
        """Let ``member`` (e.g. a cluster's node service account) pull from this repository only."""
        return artifactregistry.RepositoryIamMember(
            f"{self._resource_name}-pull-{who}",
            repository=self.repository.name,
            location=self.repository.location,
            role=PULL_ROLE,
            member=member,
            opts=pulumi.ResourceOptions(parent=self),
        )
