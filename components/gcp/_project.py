"""What every GCP component asks of its provider: the project (and its number), the region, service agents.

The project and region are the provider's (``gcp:project`` / ``gcp:region``, or an explicit ``gcp.Provider``), read
through ``organizations.get_client_config``: one source, so nothing is passed twice and nothing can disagree.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp.organizations as organizations

# Google-managed service agents that act on a project's resources, named service-<project number>@<domain>
# (https://cloud.google.com/iam/docs/service-agents).
GKE_SERVICE_AGENT = "container-engine-robot.iam.gserviceaccount.com"
ARTIFACT_REGISTRY_SERVICE_AGENT = "gcp-sa-artifactregistry.iam.gserviceaccount.com"


def client_config(parent: pulumi.Resource) -> pulumi.Output:
    """The provider's project, region and access token (the invoke runs through ``parent``'s provider)."""
    return organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent))


def service_agent(parent: pulumi.Resource, project: pulumi.Input[str], domain: str) -> pulumi.Output[str]:
    """The IAM member of a service agent of ``project``, e.g. serviceAccount:service-123@container-engine-robot..."""
    number = organizations.get_project_output(project_id=project, opts=pulumi.InvokeOutputOptions(parent=parent)).number
    return pulumi.Output.concat("serviceAccount:service-", number, "@", domain)


def member(email: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("serviceAccount:", email)
