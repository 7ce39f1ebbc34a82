"""The cluster autoscaler discovers this cluster's node groups, matches its Kubernetes minor and may resize only them."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from lepton_infra.components.aws.cluster_autoscaler import CHART_REPO, IMAGE_TAGS, ClusterAutoscaler
from lepton_infra.testing import run
from lepton_infra.spec import KUBERNETES_VERSIONS

from aws_support import rejected
from moto_iam import assert_iam_accepts

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/5E1D6F1B7C0A4A3B9C2D8E7F6A5B4C3D"
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
WRITES = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}


@dataclass(frozen=True)
class Cluster:
    """What the autoscaler reads of its cluster (components/aws/cluster_autoscaler.AutoscaledCluster)."""

    name: str = "dev-use1"
    kubernetes_version: str = "1.35"
    oidc_provider_arn: str = PROVIDER_ARN
    oidc_issuer: str = ISSUER


def args(kubernetes_version="1.35", **overrides):
    return {"cluster": Cluster(kubernetes_version=kubernetes_version), "tags": {"lepton.ai/environment": "dev"}, **overrides}


def plan_for(stack="dev", **overrides):
    def program():
        provider = k8s.Provider("cluster", kubeconfig=KUBECONFIG)
        ClusterAutoscaler("ca", args(**overrides), pulumi.ResourceOptions(providers={"kubernetes": provider}))

    return run(program, config={"aws:region": "us-west-2"}, stack=stack)


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def values_of(plan):
    return plan.one(RELEASE).inputs["values"]


def statements(plan):
    return json.loads(plan.one(ROLE_POLICY).inputs["policy"])["Statement"]


def test_the_upstream_chart_is_pinned_and_installed_into_kube_system(plan):
    release = plan.one(RELEASE)
    assert release.inputs["chart"] == "cluster-autoscaler"
    assert release.inputs["repositoryOpts"]["repo"] == CHART_REPO == "https://kubernetes.github.io/autoscaler"
    assert release.inputs["version"] == "9.59.0"
    assert release.inputs["namespace"] == "kube-system"
    assert release.inputs["atomic"] is True


def test_it_discovers_this_clusters_node_groups_in_its_providers_region(plan):
    values = values_of(plan)
    assert values["cloudProvider"] == "aws"
    assert values["autoDiscovery"] == {"clusterName": "dev-use1"}
    assert values["awsRegion"] == "us-west-2"

    def program():
        west = aws.Provider("eu", region="eu-west-1")
        cluster = k8s.Provider("cluster", kubeconfig=KUBECONFIG)
        ClusterAutoscaler("ca", args(), pulumi.ResourceOptions(providers={"aws": west, "kubernetes": cluster}))

    assert values_of(run(program, config={"aws:region": "us-west-2"}))["awsRegion"] == "eu-west-1"


def test_its_role_carries_the_stack_unless_named():
    assert plan_for().one(ROLE).inputs["name"] == "dev-ca-identity"
    assert plan_for(stack="prod").one(ROLE).inputs["name"] == "prod-ca-identity"
    assert plan_for(role_name="org-autoscaler").one(ROLE).inputs["name"] == "org-autoscaler"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_image_minor_matches_the_clusters_kubernetes_minor(version):
    tag = values_of(plan_for(kubernetes_version=version))["image"]["tag"]
    assert tag == IMAGE_TAGS[version]
    assert tag.startswith(f"v{version}.")


def test_it_runs_as_the_irsa_annotated_service_account(plan):
    account = values_of(plan)["rbac"]["serviceAccount"]
    assert account["create"] is True and account["name"] == "cluster-autoscaler"
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": plan.one(ROLE).outputs["arn"]}


def test_the_role_trusts_only_kube_system_cluster_autoscaler_via_the_clusters_oidc_provider(plan):
    (trust,) = json.loads(plan.one(ROLE).inputs["assumeRolePolicy"])["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_the_role_and_its_policy_are_accepted_by_iam(plan):
    assert_iam_accepts(
        trust_policy_json=plan.one(ROLE).inputs["assumeRolePolicy"], policy_json=plan.one(ROLE_POLICY).inputs["policy"]
    )


def test_it_may_resize_only_auto_scaling_groups_tagged_as_owned_by_this_cluster(plan):
    writers = [s for s in statements(plan) if WRITES & set(s["Action"])]
    assert len(writers) == 1
    (writer,) = writers
    assert set(writer["Action"]) == WRITES
    assert writer["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/dev-use1": "owned"}}


def test_it_describes_only_this_clusters_node_groups_and_nothing_else_is_scoped_to_star_but_what_aws_cannot_scope(plan):
    [describe] = [s for s in statements(plan) if "eks:DescribeNodegroup" in s["Action"]]
    assert describe["Action"] == ["eks:DescribeNodegroup"]
    assert describe["Resource"] == "arn:aws:eks:us-west-2:123456789012:nodegroup/dev-use1/*/*"
    unscoped = {a for s in statements(plan) if s["Resource"] == "*" and "Condition" not in s for a in s["Action"]}
    assert {a.split(":")[0] for a in unscoped} == {"autoscaling", "ec2"}  # Describe* there take no resource (AWS docs)


def test_everything_unconditioned_is_read_only(plan):
    for statement in statements(plan):
        assert statement["Effect"] == "Allow"
        if "Condition" not in statement:
            verbs = {action.split(":", 1)[1] for action in statement["Action"]}
            assert all(v.startswith(("Describe", "Get")) for v in verbs), verbs


def test_the_policy_lands_on_the_autoscalers_role_before_the_chart_installs(plan):
    policy = plan.one(ROLE_POLICY)
    assert policy.inputs["role"] == plan.one(ROLE).outputs["name"]
    assert policy.urn in plan.one(RELEASE).dependencies


def test_it_runs_on_the_system_nodes_tolerates_nothing_and_not_as_root(plan):
    values = values_of(plan)
    assert values["nodeSelector"] == {"lepton.ai/pool": "system"}
    assert values["tolerations"] == []
    assert values["securityContext"]["runAsNonRoot"] is True
    assert values["containerSecurityContext"]["allowPrivilegeEscalation"] is False
    assert values["priorityClassName"] == "system-cluster-critical"


def test_scaling_behaviour_flags(plan):
    extra = values_of(plan)["extraArgs"]
    assert extra["balance-similar-node-groups"] is True
    assert extra["skip-nodes-with-system-pods"] is False
    assert extra["skip-nodes-with-local-storage"] is False
    assert extra["expander"] == "least-waste"
    assert values_of(plan_for(expander="most-pods"))["extraArgs"]["expander"] == "most-pods"


def test_children_use_the_given_kubernetes_provider_and_nest_under_the_component(plan):
    component = plan.one("lepton:aws:ClusterAutoscaler")
    provider = plan.one("pulumi:providers:kubernetes").urn
    release = plan.one(RELEASE)
    assert release.parent == component.urn
    assert release.provider.startswith(provider + "::")
    assert plan.one("lepton:aws:WorkloadIdentity").parent == component.urn
    assert plan.one(ROLE).inputs["tags"] == {"lepton.ai/environment": "dev"}


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"region": "us-west-2"}, "region"),  # the AWS provider's region is the one source
        ({"kubernetes_version": "1.20"}, "cluster"),
        ({"expander": "fastest"}, "expander"),
        ({"clustername": "dev-use1"}, "clustername"),
    ],
)
def test_bad_args_name_the_field_and_register_nothing(overrides, field):
    err, plan = rejected(lambda: ClusterAutoscaler("ca", args(**overrides)))
    assert field in dict(err.issues)
    assert plan.resources == []


def test_a_missing_cluster_is_named():
    bad = args()
    del bad["cluster"]
    err, plan = rejected(lambda: ClusterAutoscaler("ca", bad))
    assert "cluster" in dict(err.issues)
    assert plan.resources == []


def test_a_cluster_without_its_oidc_provider_is_refused_naming_the_field():
    err, plan = rejected(lambda: ClusterAutoscaler("ca", args(cluster=object())))
    assert "cluster" in dict(err.issues)
    assert plan.resources == []


def test_a_kubernetes_minor_without_a_pinned_image_names_the_supported_ones():
    err, _ = rejected(lambda: ClusterAutoscaler("ca", args(kubernetes_version="1.20")))
    assert all(v in dict(err.issues)["cluster"] for v in IMAGE_TAGS)
