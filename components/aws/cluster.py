"""An EKS cluster secured by default, with a system node group, core add-ons and a Kubernetes provider for it.

- Access: API authentication mode (access entries, no aws-auth ConfigMap).
- Secrets: envelope encryption with a customer-managed KMS key that rotates.
- Audit: control-plane logs to a log group this component owns (created first, so its retention applies).
- Network: private endpoint always; the public one only when ``private_endpoint`` is false.
- Identity: the cluster's IAM OIDC provider for IRSA; the VPC CNI runs under its own IRSA role, so the shared
  node role carries no network-interface permissions (EKS docs, "Configure the Amazon VPC CNI plugin to use IRSA":
  https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_aws.eks as eks
import pulumi_aws.iam as iam
import pulumi_kubernetes as k8s
from pulumi_aws import get_region_output
from pydantic import Field, model_validator

from lepton_infra.kubeconfig import exec_user, single_cluster
from lepton_infra.conventions import stack_scoped_name
from lepton_infra.spec.aws import CloudWatchRetention
from lepton_infra.spec import (
    ClusterArgs,
    ClusterSpec,
    DnsLabel,
    PulumiInput,
    SpecIssues,
    parse_model,
)

from .._resource_options import data_options
from . import _iam, _logs
from ._kms import customer_managed_key
from .node_template import node_launch_template

# A year keeps audit logs through a yearly review (the AWS cell passes its audit.retention_days, by environment).
CONTROL_PLANE_LOG_RETENTION_DAYS = 365
# EKS cluster names: up to 100 characters (EKS API reference, CreateCluster "name").
CLUSTER_NAME_MAX = 100
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Daemon sets with host networking that nodes need to become Ready: installed before any node group exists
# (the cluster is created without the self-managed defaults). CoreDNS needs nodes, so it comes after, as does the
# Metrics Server: EKS ships none, and HPAs need its resource metrics. It is an EKS community add-on named
# `metrics-server` in kube-system, no IAM permissions (EKS user guide, "Community add-ons":
# https://docs.aws.amazon.com/eks/latest/userguide/community-addons.html).
BEFORE_NODES_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
AFTER_NODES_ADDONS = ("coredns", "metrics-server")
SYSTEM_POOL_LABELS = {"lepton.ai/pool": "system"}
# Persistent volumes (Prometheus, and anything the in-cluster layer claims): the EBS CSI driver as an EKS add-on,
# with its IRSA role (EKS user guide, "Amazon EBS CSI driver": add-on aws-ebs-csi-driver, service account
# kube-system/ebs-csi-controller-sa, managed policy AmazonEBSCSIDriverPolicy), and the cluster's default StorageClass:
# gp3, encrypted with the cluster's customer-managed key.
EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
DEFAULT_STORAGE_CLASS = "gp3-encrypted"
ECR_PULL_ONLY_POLICY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"


class EksClusterArgsDict(TypedDict, total=False):
    """EksClusterArgs as a plain dict: the same keys, validated the same way."""

    protected: bool
    name: DnsLabel | None
    spec: Required[ClusterSpec | Mapping[str, Any]]
    subnet_ids: Required[PulumiInput[Sequence[PulumiInput[str]]]]
    vpc_id: PulumiInput[str] | None
    log_retention_days: CloudWatchRetention
    admin_principal_arns: Sequence[str]
    tags: Mapping[str, str]


class EksClusterArgs(ClusterArgs):
    name: DnsLabel | None = Field(
        None,
        description="Physical cluster name (also names its IAM roles and log group). Defaults to <stack>-<resource "
        "name>, so two stacks in one account never collide.",
    )
    spec: ClusterSpec = Field(
        description="Kubernetes version, endpoint access (spec.private_endpoint), control-plane logs, system pool."
    )
    protected: bool = Field(
        False, description="Protect and retain the secrets key and log groups; the endpoint is private unless spec says."
    )
    log_retention_days: CloudWatchRetention = Field(
        CONTROL_PLANE_LOG_RETENTION_DAYS, description="Days the control-plane log group (the audit log among them) keeps logs."
    )
    subnet_ids: PulumiInput[Sequence[PulumiInput[str]]] = Field(
        description="Private subnets for the control-plane ENIs and the system nodes."
    )
    vpc_id: PulumiInput[str] | None = Field(
        None, description="EKS derives the VPC from the subnets; kept as an output for in-cluster controllers that need it."
    )
    admin_principal_arns: list[str] = Field(
        default_factory=list,
        description="IAM principals granted cluster admin through access entries. Empty: the creator is bootstrapped as admin.",
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _one_source_per_value(cls, data: Any) -> Any:
        # The cluster's region is its AWS provider's, and endpoint access lives in the spec: arguments that would
        # restate them could only disagree (a kubeconfig for the wrong region, a public endpoint asked to be private).
        if isinstance(data, dict):
            moved = {"private_endpoint": "spec.private_endpoint", "region": "the AWS provider's region (opts.provider)"}
            issues = [((key,), f"not an argument: set {where} instead") for key, where in moved.items() if key in data]
            if issues:
                raise SpecIssues(issues)
        return data


def kubeconfig(name: str, region: str, endpoint: str, ca_data: str) -> str:
    """A JSON kubeconfig that authenticates through `aws eks get-token` (client.authentication.k8s.io/v1beta1)."""
    return single_cluster(
        name,
        {"server": endpoint, "certificate-authority-data": ca_data},
        exec_user("aws", ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"]),
    )


def cluster_kms_policy(key_arn: str) -> str:
    """What the control plane needs on the secrets key (as terraform-aws-eks grants the cluster role)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        }
    )


def ebs_csi_kms_policy(key_arn: str) -> str:
    """What the EBS CSI driver needs on a customer-managed key for encrypted volumes (EKS user guide, "Create an
    Amazon EBS CSI driver IAM role", the statements for a custom KMS key), on this key only, its wildcard actions
    (kms:ReEncrypt*, kms:GenerateDataKey*) spelt out."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
                    ],
                    "Resource": key_arn,
                },
            ],
        }
    )


def default_storage_class(key_arn: pulumi.Input[str], protected: bool) -> dict:
    """The cluster's default StorageClass: gp3 EBS volumes encrypted with ``key_arn``, bound where the pod lands,
    growable; kept when released in protected environments."""
    return {
        "metadata": {"name": DEFAULT_STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": EBS_CSI_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn},
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
        "reclaim_policy": "Retain" if protected else "Delete",
    }


class EksCluster(pulumi.ComponentResource):
    """EKS control plane, OIDC provider, shared node role, system node group, core add-ons and a k8s Provider."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority_data: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    kubernetes_version: str
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self, name: str, args: EksClusterArgs | EksClusterArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(EksClusterArgs, args)
        super().__init__("lepton:aws:EksCluster", name, None, opts)
        cluster_name = args.name or stack_scoped_name(pulumi.get_stack(), name, max_length=CLUSTER_NAME_MAX)
        spec, tags = args.spec, args.tags
        self._tags = tags
        child = pulumi.ResourceOptions(parent=self)
        data = data_options(self, args.protected)

        key = customer_managed_key(
            f"{name}-secrets", f"EKS {cluster_name}: envelope encryption of Kubernetes secrets", tags, opts=data
        )
        cluster_role, cluster_attachments = _iam.role(
            self,
            f"{name}-cluster",
            physical=(cluster_name, "eks-cluster"),
            trust_policy=_iam.service_trust_policy("eks.amazonaws.com"),
            managed_policy_arns=[iam.ManagedPolicy.AMAZON_EKS_CLUSTER_POLICY.value],
            description=f"EKS control plane of {cluster_name}",
            tags=tags,
        )
        key_access = iam.RolePolicy(
            f"{name}-cluster-kms", role=cluster_role.id, policy=key.arn.apply(cluster_kms_policy), opts=child
        )
        # EKS writes to exactly this name; creating it first makes our retention (not "never expire") apply, and
        # its own customer-managed key encrypts the audit trail (both kept in protected environments).
        log_group, _ = _logs.encrypted_log_group(
            self,
            f"{name}-control-plane",
            account=_iam.aws_account(self),
            log_group_name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            protected=args.protected,
        )
        public = not args.private_endpoint
        cluster = eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": args.subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": public,
                **({"public_access_cidrs": list(spec.public_access_cidrs)} if public else {}),
            },
            access_config={
                "authentication_mode": "API",
                # With no admins named, someone must be able to reach the cluster: the identity that creates it.
                "bootstrap_cluster_creator_admin_permissions": not args.admin_principal_arns,
            },
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}},
            enabled_cluster_log_types=list(spec.control_plane_logs),
            # Core add-ons are EKS managed add-ons below, not the unmanaged copies EKS would otherwise install.
            bootstrap_self_managed_addons=False,
            tags=tags,
            # The cluster holds the workloads' state (secrets, volumes' claims): kept in protected environments.
            opts=data_options(self, args.protected, depends_on=[log_group, key_access, *cluster_attachments]),
        )
        self.name = cluster.name
        for i, principal in enumerate(args.admin_principal_arns):
            entry = eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", tags=tags, opts=child
            )
            eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=cluster.name,
                principal_arn=principal,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )

        issuer_url = cluster.identities[0].oidcs[0].issuer
        oidc = iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"], tags=tags, opts=child
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer_url.apply(lambda u: u.removeprefix("https://"))

        node_role, node_attachments = _iam.role(
            self,
            f"{name}-node",
            physical=(cluster_name, "eks-node"),
            trust_policy=_iam.service_trust_policy("ec2.amazonaws.com"),
            managed_policy_arns=[
                iam.ManagedPolicy.AMAZON_EKS_WORKER_NODE_POLICY.value,
                # Pull only, not ReadOnly's list/describe of every repository: what the EKS node role page asks
                # for (docs.aws.amazon.com/eks/latest/userguide/create-node-role.html). Not in the SDK's enum.
                ECR_PULL_ONLY_POLICY,
            ],
            description=f"Nodes of EKS {cluster_name} (the VPC CNI has its own IRSA role)",
            tags=tags,
        )
        cni_role, _ = _iam.role(
            self,
            f"{name}-vpc-cni",
            physical=(cluster_name, "vpc-cni"),
            trust_policy=_iam.oidc_trust_policy(oidc.arn, self.oidc_issuer, "kube-system", "aws-node"),
            managed_policy_arns=[iam.ManagedPolicy.AMAZON_EK_S_CN_I_POLICY.value],
            description=f"VPC CNI (kube-system/aws-node) of EKS {cluster_name}",
            tags=tags,
        )
        before_nodes = [
            self._addon(name, cluster, addon, service_account_role_arn=cni_role.arn if addon == "vpc-cni" else None)
            for addon in BEFORE_NODES_ADDONS
        ]

        pool = spec.system_pool
        template = node_launch_template(self, f"{name}-system", disk_size_gb=pool.disk_size_gb, tags=tags)
        system_nodes = eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=args.subnet_ids,
            version=spec.kubernetes_version,
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            instance_types=list(pool.instance_types),
            scaling_config={"min_size": pool.min_size, "max_size": pool.max_size, "desired_size": pool.desired},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=SYSTEM_POOL_LABELS,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*node_attachments, *before_nodes],
                # The cluster autoscaler owns the current size once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        for addon in AFTER_NODES_ADDONS:
            self._addon(name, cluster, addon, depends_on=[system_nodes])
        ebs_role, ebs_attachments = _iam.role(
            self,
            f"{name}-ebs-csi",
            physical=(cluster_name, "ebs-csi"),
            trust_policy=_iam.oidc_trust_policy(oidc.arn, self.oidc_issuer, "kube-system", EBS_CSI_SERVICE_ACCOUNT),
            managed_policy_arns=[EBS_CSI_POLICY],
            description=f"EBS CSI driver (kube-system/{EBS_CSI_SERVICE_ACCOUNT}) of EKS {cluster_name}",
            tags=tags,
        )
        ebs_key_access = iam.RolePolicy(f"{name}-ebs-csi-kms", role=ebs_role.id, policy=key.arn.apply(ebs_csi_kms_policy), opts=child)
        ebs_csi = self._addon(
            name, cluster, EBS_CSI_ADDON, service_account_role_arn=ebs_role.arn,
            depends_on=[system_nodes, ebs_key_access, *ebs_attachments],
        )

        self.arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.certificate_authority_data = cluster.certificate_authority.data
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.kms_key_arn = key.arn
        self.vpc_id = pulumi.Output.from_input(args.vpc_id)
        self.subnet_ids = pulumi.Output.from_input(args.subnet_ids)
        self.kubernetes_version = spec.kubernetes_version
        # The region of the provider the cluster was created with: the only one `aws eks get-token` can ask.
        region = get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, region, cluster.endpoint, self.certificate_authority_data).apply(
                lambda a: kubeconfig(*a)
            )
        )
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-{DEFAULT_STORAGE_CLASS}",
            **default_storage_class(key.arn, args.protected),
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[ebs_csi]),
        )
        self.register_outputs(
            {
                "name": self.name,
                "arn": self.arn,
                "endpoint": self.endpoint,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer": self.oidc_issuer,
                "node_role_arn": self.node_role_arn,
                "cluster_security_group_id": self.cluster_security_group_id,
                "kms_key_arn": self.kms_key_arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _addon(self, name: str, cluster: eks.Cluster, addon: str, *, service_account_role_arn=None, depends_on=()):
        """An EKS managed add-on at the version EKS defaults to for the cluster's Kubernetes version."""
        return eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            service_account_role_arn=service_account_role_arn,
            resolve_conflicts_on_create="OVERWRITE",
            # Keep configuration someone changed in-cluster until it is declared here.
            resolve_conflicts_on_update="PRESERVE",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
