import json

import pulumi
import pytest

from lepton_infra.components.aws.workload_identity import ROLE_ARN_ANNOTATION, OidcProvider, WorkloadIdentity
from lepton_infra.testing import run

from aws_support import rejected
from moto_iam import assert_iam_accepts

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5E1D6F1B7C0A4A3B9C2D8E7F6A5B4C3D"
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


def identity_args(**overrides):
    return {
        "cluster": OidcProvider(PROVIDER_ARN, ISSUER),
        "namespace": "models",
        "service_account": "llm",
        "tags": {"lepton.ai/environment": "dev"},
        **overrides,
    }


def plan_of(name="llm-identity", **overrides):
    def program():
        identity = WorkloadIdentity(name, identity_args(**overrides))
        pulumi.export("annotations", identity.service_account_annotations)
        pulumi.export("role_arn", identity.role_arn)

    return run(program)


def trust_statement(plan):
    (statement,) = json.loads(plan.one(ROLE).inputs["assumeRolePolicy"])["Statement"]
    return statement


def test_only_the_named_service_account_may_assume_the_role_via_the_clusters_oidc_provider():
    statement = trust_statement(plan_of())
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:models:llm",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_an_issuer_url_with_its_scheme_still_yields_condition_keys_without_it():
    statement = trust_statement(plan_of(cluster=OidcProvider(PROVIDER_ARN, f"https://{ISSUER}")))
    assert set(statement["Condition"]["StringEquals"]) == {f"{ISSUER}:sub", f"{ISSUER}:aud"}


def test_trust_policy_is_accepted_by_iam():
    assert_iam_accepts(trust_policy_json=plan_of().one(ROLE).inputs["assumeRolePolicy"])


def test_service_account_annotation_carries_the_role_arn():
    plan = plan_of()
    assert plan.stack_outputs["annotations"] == {ROLE_ARN_ANNOTATION: plan.one(ROLE).outputs["arn"]}
    assert ROLE_ARN_ANNOTATION == "eks.amazonaws.com/role-arn"


def test_role_is_tagged_and_a_child_of_the_identity():
    plan = plan_of()
    role = plan.one(ROLE)
    assert role.inputs["tags"] == {"lepton.ai/environment": "dev"}
    assert role.parent == plan.one("lepton:aws:WorkloadIdentity").urn


def test_long_identity_names_still_give_a_valid_role_name():
    role = plan_of(name="prod-aws-use1-" + "very-long-model-name-" * 4 + "identity").one(ROLE)
    assert len(role.inputs["name"]) <= 64


def test_attached_policies_land_on_the_role_as_children_of_the_identity():
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]}
    )

    def program():
        identity = WorkloadIdentity("llm-identity", identity_args())
        identity.attach_policy("lake-models-read", document)

    plan = run(program)
    policy = plan.one(ROLE_POLICY)
    assert policy.inputs["role"] == plan.one(ROLE).outputs["name"]
    assert policy.inputs["policy"] == document
    assert policy.inputs["name"] == "lake-models-read"
    assert policy.parent == plan.one("lepton:aws:WorkloadIdentity").urn


@pytest.mark.parametrize("field,value", [("namespace", "Models"), ("service_account", "llm_server")])
def test_names_that_are_not_dns_labels_are_rejected_before_anything_exists(field, value):
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(**{field: value})))
    assert field in str(error)
    assert plan.resources == []


def test_unknown_args_are_rejected_naming_the_key():
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(namespce="models")))
    assert "namespce" in str(error)
    assert plan.resources == []


def test_the_role_is_wired_to_a_cluster_object_and_refuses_loose_oidc_ids_naming_the_field():
    """Wired with objects (an EksCluster, or OidcProvider for a cluster made elsewhere), not four loose IDs."""
    error, plan = rejected(lambda: WorkloadIdentity("llm-identity", identity_args(cluster={"arn": PROVIDER_ARN})))
    assert "cluster" in dict(error.issues)
    assert plan.resources == []
