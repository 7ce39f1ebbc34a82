"""The EKS cluster is private-capable, audited, envelope-encrypted, IRSA-ready and reachable through its kubeconfig."""

import json

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from lepton_infra.components.aws.cluster import BEFORE_NODES_ADDONS, EksCluster
from lepton_infra.testing import run

from aws_support import KEY, assert_log_group_has_its_own_key, rejected
from moto_iam import assert_iam_accepts

CLUSTER = "aws:eks/cluster:Cluster"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"


def args(**overrides):
    base = {
        "name": "dev-use1",
        "spec": {"public_access_cidrs": ["203.0.113.0/24"]},
        "subnet_ids": ["subnet-0a", "subnet-0b"],
        "vpc_id": "vpc-0123",
        "tags": {"lepton.ai/environment": "dev"},
    }
    return {**base, **overrides}


def plan_for(**overrides):
    return run(lambda: EksCluster("c", args(**overrides)), config={"aws:region": "us-west-2"})


@pytest.fixture(scope="module")
def plan():
    return plan_for()


def test_authentication_is_access_entries_only(plan):
    access = plan.one(CLUSTER).inputs["accessConfig"]
    assert access["authenticationMode"] == "API"


def test_named_admins_get_access_entries_and_the_creator_is_not_bootstrapped():
    plan = plan_for(admin_principal_arns=[ADMIN])
    assert plan.one(CLUSTER).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entry = plan.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == ADMIN and entry.inputs["type"] == "STANDARD"
    association = plan.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert entry.urn in association.dependencies


def test_without_named_admins_the_creator_is_bootstrapped_so_someone_can_reach_it(plan):
    assert plan.one(CLUSTER).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    assert plan.of_type("aws:eks/accessEntry:AccessEntry") == []


def test_secrets_are_envelope_encrypted_with_a_rotating_customer_managed_key(plan):
    key = plan.one(KEY, "c-secrets")
    assert key.inputs["enableKeyRotation"] is True
    encryption = plan.one(CLUSTER).inputs["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"] == key.outputs["arn"]


def test_the_keys_and_the_audit_log_are_protected_and_retained_only_when_protected(plan):
    assert {k.name for k in plan.of_type(KEY)} == {"c-secrets", "c-control-plane-key"}
    kept = plan.of_type(KEY) + plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert not any(r.protect or r.retain_on_delete for r in kept)
    protected = plan_for(protected=True)
    kept = protected.of_type(KEY) + protected.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(kept) == 3 and all(r.protect and r.retain_on_delete for r in kept)


def test_all_control_plane_log_types_are_enabled(plan):
    assert sorted(plan.one(CLUSTER).inputs["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )


def test_the_log_group_exists_before_the_cluster_with_a_retention(plan):
    group = plan.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/eks/dev-use1/cluster"
    assert group.inputs["retentionInDays"] > 0
    assert group.urn in plan.one(CLUSTER).dependencies


def test_the_control_plane_log_group_is_encrypted_with_its_own_key_for_that_group_only(plan):
    key = assert_log_group_has_its_own_key(
        plan, "/aws/eks/dev-use1/cluster", "arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/dev-use1/cluster"
    )
    assert key.outputs["arn"] != plan.one(KEY, "c-secrets").outputs["arn"]


def test_private_endpoint_turns_the_public_endpoint_off():
    spec = {"private_endpoint": True, "public_access_cidrs": ["203.0.113.0/24"]}
    vpc = plan_for(spec=spec).one(CLUSTER).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_a_protected_cluster_is_private_unless_its_spec_says_otherwise():
    assert plan_for(spec={}, protected=True).one(CLUSTER).inputs["vpcConfig"]["endpointPublicAccess"] is False
    opened = {"private_endpoint": False, "public_access_cidrs": ["203.0.113.0/24"]}
    assert plan_for(spec=opened, protected=True).one(CLUSTER).inputs["vpcConfig"]["endpointPublicAccess"] is True


@pytest.mark.parametrize(
    "argument, where", [("private_endpoint", "spec.private_endpoint"), ("region", "the AWS provider's region")]
)
def test_a_value_has_one_source_an_argument_restating_it_is_an_error_naming_both(argument, where):
    # Once, EksCluster took private_endpoint beside spec.private_endpoint and the argument silently won.
    error, plan = rejected(lambda: EksCluster("c", args(spec={"private_endpoint": True}, **{argument: False})))
    assert where in dict(error.issues)[argument]
    assert plan.resources == []


def test_the_kubeconfig_asks_for_tokens_in_the_region_of_the_clusters_provider():
    def program():
        EksCluster("c", args(), opts=pulumi.ResourceOptions(provider=aws.Provider("eu", region="eu-west-1")))

    plan = run(program, config={"aws:region": "us-west-2"})
    config = json.loads(plan.one("pulumi:providers:kubernetes").inputs["kubeconfig"])
    assert config["users"][0]["user"]["exec"]["args"][4:6] == ["--region", "eu-west-1"]
    assert plan.one(CLUSTER).outputs["arn"].startswith("arn:aws:eks:eu-west-1:")


def test_without_a_name_the_cluster_and_its_roles_carry_the_stack():
    def program():
        EksCluster("ml", {k: v for k, v in args().items() if k != "name"})

    names = {stack: run(program, stack=stack) for stack in ("dev", "prod")}
    assert names["dev"].one(CLUSTER).inputs["name"] == "dev-ml"
    roles = {stack: {r.inputs["name"] for r in plan.of_type("aws:iam/role:Role")} for stack, plan in names.items()}
    assert roles["dev"] == {"dev-ml-eks-cluster", "dev-ml-eks-node", "dev-ml-vpc-cni", "dev-ml-ebs-csi"}
    assert roles["dev"].isdisjoint(roles["prod"])


def test_a_public_endpoint_open_to_anyone_must_be_asked_for_by_name():
    error, plan = rejected(lambda: EksCluster("c", args(spec={})))
    assert "0.0.0.0/0" in dict(error.issues)["spec.public_access_cidrs"]
    assert plan.resources == []
    opened = plan_for(spec={"public_access_cidrs": ["0.0.0.0/0"]}).one(CLUSTER).inputs["vpcConfig"]
    assert opened["publicAccessCidrs"] == ["0.0.0.0/0"]


def test_public_endpoint_is_limited_to_the_given_cidrs():
    vpc = plan_for(spec={"public_access_cidrs": ["203.0.113.0/24"]}).one(CLUSTER).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert vpc["subnetIds"] == ["subnet-0a", "subnet-0b"]


def test_version_comes_from_the_spec():
    assert plan_for(spec={"private_endpoint": True, "kubernetes_version": "1.34"}).one(CLUSTER).inputs["version"] == "1.34"


def test_the_oidc_provider_trusts_the_cluster_issuer_for_sts(plan):
    cluster = plan.one(CLUSTER)
    oidc = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    issuer = cluster.outputs["identities"][0]["oidcs"][0]["issuer"]
    assert oidc.inputs["url"] == issuer and issuer.startswith("https://oidc.eks.us-west-2.amazonaws.com/id/")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_the_vpc_cni_runs_under_irsa_and_the_node_role_lacks_cni_permissions(plan):
    attached = {r.inputs["policyArn"].rsplit("/", 1)[-1] for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r.name.startswith("c-node-")}
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}
    cni_role = plan.one("aws:iam/role:Role", "c-vpc-cni")
    trust = json.loads(cni_role.inputs["assumeRolePolicy"])["Statement"][0]
    issuer = plan.one(CLUSTER).outputs["identities"][0]["oidcs"][0]["issuer"].removeprefix("https://")
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"]["Federated"] == plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]
    assert trust["Condition"]["StringEquals"][f"{issuer}:sub"] == "system:serviceaccount:kube-system:aws-node"
    assert plan.one("aws:eks/addon:Addon", "c-vpc-cni").inputs["serviceAccountRoleArn"] == cni_role.outputs["arn"]


def test_iam_documents_are_accepted_by_iam(plan):
    for role in plan.of_type("aws:iam/role:Role"):
        assert_iam_accepts(trust_policy_json=role.inputs["assumeRolePolicy"])
    secrets_key = plan.one("aws:kms/key:Key", "c-secrets").outputs["arn"]
    for name in ("c-cluster-kms", "c-ebs-csi-kms"):
        kms_access = plan.one("aws:iam/rolePolicy:RolePolicy", name)
        assert_iam_accepts(policy_json=kms_access.inputs["policy"])
        assert {s["Resource"] for s in json.loads(kms_access.inputs["policy"])["Statement"]} == {secrets_key}


def test_the_system_node_template_encrypts_the_root_volume_and_requires_imdsv2(plan):
    template = plan.one("aws:ec2/launchTemplate:LaunchTemplate")
    (mapping,) = template.inputs["blockDeviceMappings"]
    assert mapping["deviceName"] == "/dev/xvda"
    assert mapping["ebs"]["encrypted"] == "true" and mapping["ebs"]["volumeType"] == "gp3"
    assert mapping["ebs"]["volumeSize"] == 50
    metadata = template.inputs["metadataOptions"]
    assert metadata["httpTokens"] == "required" and metadata["httpPutResponseHopLimit"] == 1


def test_the_system_node_group_uses_the_template_and_no_disk_size(plan):
    group = plan.one("aws:eks/nodeGroup:NodeGroup")
    template = plan.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert group.inputs["launchTemplate"]["id"] == template.outputs["arn"].rsplit("/", 1)[-1]
    assert group.inputs["launchTemplate"]["version"] == "1"
    assert "diskSize" not in group.inputs
    assert group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert group.inputs["nodeRoleArn"] == plan.one("aws:iam/role:Role", "c-node").outputs["arn"]
    assert "scalingConfig.desiredSize" in group.ignore_changes


def test_core_addons_are_installed_and_coredns_and_metrics_server_wait_for_nodes(plan):
    addons = {a.inputs["addonName"]: a for a in plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "metrics-server", "aws-ebs-csi-driver"}
    nodes = plan.one("aws:eks/nodeGroup:NodeGroup")
    assert nodes.urn in addons["coredns"].dependencies
    # EKS ships no Metrics Server; resource-metric HPAs and `kubectl top` read it. A community add-on, so no IAM role.
    assert nodes.urn in addons["metrics-server"].dependencies
    assert addons["metrics-server"].inputs.get("serviceAccountRoleArn") is None
    assert {addons[a].urn for a in BEFORE_NODES_ADDONS} <= set(nodes.dependencies)
    assert plan.one(CLUSTER).inputs["bootstrapSelfManagedAddons"] is False


def test_volumes_come_from_the_ebs_csi_driver_through_its_own_irsa_role_encrypted_with_the_clusters_key(plan):
    ebs = {a.inputs["addonName"]: a for a in plan.of_type("aws:eks/addon:Addon")}["aws-ebs-csi-driver"]
    role = plan.one("aws:iam/role:Role", "c-ebs-csi")
    assert ebs.inputs["serviceAccountRoleArn"] == role.outputs["arn"]
    assert plan.one("aws:eks/nodeGroup:NodeGroup").urn in ebs.dependencies
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert list(trust["Condition"]["StringEquals"].values())[0] == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    attached = {a.inputs["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name.startswith("c-ebs-csi")}
    assert attached == {"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"}
    grants = json.loads(plan.one("aws:iam/rolePolicy:RolePolicy", "c-ebs-csi-kms").inputs["policy"])["Statement"]
    assert grants[0]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}  # grants only for EBS itself
    assert not [a for s in grants for a in s["Action"] if "*" in a]


def test_the_default_storage_class_is_gp3_encrypted_with_the_clusters_key_and_kept_when_protected(plan):
    storage = plan.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage.inputs["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage.inputs["provisioner"] == "ebs.csi.aws.com"
    key = plan.one("aws:kms/key:Key", "c-secrets").outputs["arn"]
    assert storage.inputs["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": key}
    assert (storage.inputs["volumeBindingMode"], storage.inputs["reclaimPolicy"]) == ("WaitForFirstConsumer", "Delete")
    ebs = {a.inputs["addonName"]: a for a in plan.of_type("aws:eks/addon:Addon")}["aws-ebs-csi-driver"]
    assert ebs.urn in storage.dependencies
    protected = plan_for(protected=True).one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert protected.inputs["reclaimPolicy"] == "Retain"


def test_kubeconfig_execs_aws_eks_get_token_against_the_cluster_endpoint(plan):
    cluster = plan.one(CLUSTER)
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.is_secret("kubeconfig"), "the kubeconfig is a secret"
    config = yaml.safe_load(provider.inputs["kubeconfig"])
    assert json.loads(provider.inputs["kubeconfig"]) == config
    assert config["clusters"][0]["cluster"]["server"] == cluster.outputs["endpoint"]
    assert config["clusters"][0]["cluster"]["certificate-authority-data"] == cluster.outputs["certificateAuthority"]["data"]
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert [exec_["command"], *exec_["args"][:6]] == ["aws", "eks", "get-token", "--cluster-name", "dev-use1", "--region", "us-west-2"]
    assert provider.parent == plan.one("lepton:aws:EksCluster").urn


def test_taggable_resources_carry_the_args_tags(plan):
    taggable = [r for r in plan.resources if r.custom and "tags" in r.inputs]
    assert len(taggable) >= 8
    assert all(r.inputs["tags"].get("lepton.ai/environment") == "dev" for r in taggable)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"name": "Dev_Cluster"}, "name"),
        ({"spec": {"control_plane_logs": ["api", "kubelet"]}}, "spec.control_plane_logs[1]"),
        ({"spec": {"system_pool": {"min_size": 5, "max_size": 3}}}, "spec.system_pool.min_size"),
        ({"spec": {"kubernetes_version": "1.20"}}, "spec.kubernetes_version"),
    ],
)
def test_bad_cluster_args_name_the_field_and_register_nothing(overrides, field):
    err, plan = rejected(lambda: EksCluster("c", args(**overrides)))
    assert field in dict(err.issues)
    assert plan.resources == []
