"""Artifact Registry: immutable tags, CMEK, scanning, cleanup, pull for named members only, token-based pushes."""

import pulumi
import pytest

from lepton_infra.components.gcp.registry import ContainerRegistry
from lepton_infra.testing.mocks.gcp import project_number

from gcp_support import (
    ENCRYPTER_DECRYPTER,
    KEY,
    KEY_MEMBER,
    KEY_RING,
    PROJECT,
    REGION,
    REPOSITORY,
    REPOSITORY_MEMBER,
    assert_rotating_key_in,
    gcp_run,
    key_users,
    rejected,
)

LABELS = {"lepton-ai_environment": "dev"}
NODES = f"serviceAccount:dev-gcp-euw4-nodes@{PROJECT}.iam.gserviceaccount.com"


def registry_args(protected=False, **spec):
    return {"spec": spec, "name_prefix": "dev-gcp-euw4", "protected": protected, "labels": LABELS}


def plan_of(protected=False, **spec):
    def program():
        registry = ContainerRegistry("registry", registry_args(protected, **spec))
        registry.grant_pull("nodes", NODES)
        pulumi.export("push", registry.credentials)
        pulumi.export("url", registry.repository_url)

    return gcp_run(program)


@pytest.fixture(scope="module")
def plan():
    return plan_of(keep_images=20)


def repository(plan):
    return plan.one(REPOSITORY)


def test_a_docker_repository_in_the_region_with_immutable_tags(plan):
    inputs = repository(plan).inputs
    assert (inputs["format"], inputs["mode"]) == ("DOCKER", "STANDARD_REPOSITORY")
    assert inputs["repositoryId"] == "dev-gcp-euw4-serving"
    assert inputs["location"] == REGION
    assert inputs["dockerConfig"] == {"immutableTags": True}
    assert inputs["labels"] == LABELS


def test_images_are_encrypted_with_a_key_only_the_artifact_registry_service_agent_may_use(plan):
    key = plan.one(KEY)
    assert repository(plan).inputs["kmsKeyName"] == key.outputs["id"]
    assert_rotating_key_in(plan, key)
    agent = f"serviceAccount:service-{project_number(PROJECT)}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
    assert key_users(plan, key) == {agent: ENCRYPTER_DECRYPTER}
    assert plan.one(KEY_MEMBER).urn in repository(plan).dependencies


def test_vulnerability_scanning_follows_the_projects_setting(plan):
    assert repository(plan).inputs["vulnerabilityScanningConfig"] == {"enablementConfig": "INHERITED"}


def test_cleanup_keeps_the_newest_images_and_deletes_old_and_untagged_ones(plan):
    inputs = repository(plan).inputs
    assert inputs["cleanupPolicyDryRun"] is False
    assert inputs["cleanupPolicies"] == [
        {"id": "keep-newest", "action": "KEEP", "mostRecentVersions": {"keepCount": 20}},
        {"id": "delete-untagged", "action": "DELETE", "condition": {"tagState": "UNTAGGED", "olderThan": "1209600s"}},
        {"id": "delete-beyond-newest", "action": "DELETE", "condition": {"tagState": "TAGGED"}},
    ]


def test_pull_is_granted_on_this_repository_only(plan):
    grant = plan.one(REPOSITORY_MEMBER).inputs
    repo = repository(plan).outputs
    assert (grant["repository"], grant["location"]) == (repo["name"], repo["location"])
    assert (grant["role"], grant["member"]) == ("roles/artifactregistry.reader", NODES)


def test_the_repository_url_is_the_docker_registry_path(plan):
    assert plan.stack_outputs["url"] == f"{REGION}-docker.pkg.dev/{PROJECT}/dev-gcp-euw4-serving"


def test_push_credentials_are_the_providers_access_token_and_secret(plan):
    assert [token for token, _ in plan.invokes].count("gcp:organizations/getClientConfig:getClientConfig") == 1
    assert "push" in plan.secret_outputs and plan.masked_outputs()["push"] == "[secret]"
    credentials = plan.stack_outputs["push"]
    assert credentials["server"] == f"https://{REGION}-docker.pkg.dev"
    assert plan.stack_outputs["url"].startswith(credentials["server"].removeprefix("https://") + "/")
    assert credentials["username"] == "oauth2accesstoken"
    assert credentials["password"].startswith("ya29.")


def test_a_protected_registry_protects_and_retains_repository_and_key():
    protected = plan_of(protected=True)
    for resource in (protected.one(REPOSITORY), protected.one(KEY), protected.one(KEY_RING)):
        assert resource.protect and resource.retain_on_delete


def test_an_unprotected_registry_protects_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


@pytest.mark.parametrize("field,value", [("keep_images", 0), ("repository", "Serving")])
def test_bad_spec_is_rejected_naming_the_field_before_anything_exists(field, value):
    error, plan = rejected(lambda: ContainerRegistry("registry", registry_args(**{field: value})))
    assert f"spec.{field}" in dict(error.issues)
    assert plan.resources == []
