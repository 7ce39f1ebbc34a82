import json

import pulumi
import pytest

from lepton_infra.components.aws.registry import ContainerRegistry
from lepton_infra.testing import run

from aws_support import rejected
from moto_checks import assert_ecr_accepts

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
KEY = "aws:kms/key:Key"
TAGS = {"lepton.ai/environment": "dev"}


def registry_args(protected=False, **spec):
    return {"spec": spec, "name_prefix": "dev-aws-use1", "protected": protected, "tags": TAGS}


def plan_of(protected=False, **spec):
    def program():
        registry = ContainerRegistry("registry", registry_args(protected, **spec))
        pulumi.export("push", registry.credentials)
        pulumi.export("url", registry.repository_url)

    return run(program)


@pytest.fixture(scope="module")
def plan():
    return plan_of(keep_images=20)


def rules(plan):
    return {r["rulePriority"]: r for r in json.loads(plan.one(LIFECYCLE).inputs["policy"])["rules"]}


def test_repository_scans_on_push_and_keeps_tags_immutable(plan):
    repository = plan.one(REPOSITORY).inputs
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["forceDelete"] is False
    assert repository["name"] == "dev-aws-use1-serving"
    assert repository["tags"] == TAGS


def test_images_are_encrypted_with_a_rotating_customer_managed_key(plan):
    key = plan.one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["tags"] == TAGS
    assert plan.one(REPOSITORY).inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}]


def test_untagged_images_expire_after_14_days(plan):
    untagged = rules(plan)[1]
    assert untagged["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}
    assert untagged["action"] == {"type": "expire"}


def test_only_the_newest_keep_images_survive_and_that_rule_runs_last(plan):
    keep = rules(plan)[2]
    assert keep["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20}
    assert keep["action"] == {"type": "expire"}
    assert max(rules(plan)) == 2


def test_lifecycle_policy_applies_to_the_repository(plan):
    policy = plan.one(LIFECYCLE)
    assert policy.inputs["repository"] == plan.one(REPOSITORY).outputs["name"]
    assert policy.parent == plan.one("lepton:aws:ContainerRegistry").urn


def test_repository_and_lifecycle_policy_are_accepted_by_ecr(plan):
    assert_ecr_accepts(plan.one(REPOSITORY), plan.one(LIFECYCLE))


def test_push_credentials_come_from_an_authorization_token_for_this_registry_and_are_secret(plan):
    (token_call,) = [args for token, args in plan.invokes if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert token_call["registryId"] == plan.one(REPOSITORY).outputs["registryId"]
    assert "push" in plan.secret_outputs and plan.masked_outputs()["push"] == "[secret]"
    credentials = plan.stack_outputs["push"]
    assert credentials["server"] == plan.stack_outputs["url"].split("/", 1)[0]
    assert credentials["username"] == "AWS"
    assert credentials["password"]


def test_protected_registry_protects_and_retains_repository_and_key():
    protected = plan_of(protected=True)
    for resource in (protected.one(REPOSITORY), protected.one(KEY)):
        assert resource.protect and resource.retain_on_delete


def test_unprotected_registry_protects_nothing(plan):
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


@pytest.mark.parametrize("field,value", [("keep_images", 0), ("repository", "Serving")])
def test_bad_spec_is_rejected_naming_the_field_before_anything_exists(field, value):
    error, plan = rejected(lambda: ContainerRegistry("registry", registry_args(**{field: value})))
    assert f"spec.{field}" in str(error)
    assert plan.resources == []
