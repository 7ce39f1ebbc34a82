"""The Kubernetes cluster autoscaler on EKS: scales the node groups (GPU pools from zero) for pending pods.

EKS managed node groups only hold a min/max/desired size; nothing changes ``desired`` for pending pods. This installs
the upstream cluster autoscaler (chart ``cluster-autoscaler`` from https://kubernetes.github.io/autoscaler) in
kube-system under its own IRSA role, discovering the node groups by the tags EKS and ``GpuNodePool`` put on their Auto
Scaling groups (``k8s.io/cluster-autoscaler/enabled`` and ``k8s.io/cluster-autoscaler/<cluster name>``); the GPU
pools' ``node-template`` tags let it scale a pool up from zero nodes.

Sources: cluster-autoscaler/cloudprovider/aws/README.md in github.com/kubernetes/autoscaler ("IAM Policy", "Full
Cluster Autoscaler Features Policy (Recommended)", "Auto-Discovery Setup"); charts/cluster-autoscaler/README.md there
("AWS - Using auto-discovery of tagged instance groups", "AWS - IAM Roles for Service Accounts (IRSA)", the values
table).
"""

from __future__ import annotations

import json
from typing import Any, Literal, Mapping, Protocol, Required, TypedDict, runtime_checkable

import pulumi
from pulumi_aws import get_caller_identity_output, get_partition_output, get_region_output
from pydantic import Field, field_validator

from lepton_infra.spec import ComponentArgs, parse_model

from ..kubernetes._helm import release
from .cluster import SYSTEM_POOL_LABELS
from .gpu_node_pool import AUTOSCALER_TAG_PREFIX
from .workload_identity import OidcTrust, WorkloadIdentity

TOKEN = "lepton:aws:ClusterAutoscaler"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
CHART = "cluster-autoscaler"
CHART_REPO = "https://kubernetes.github.io/autoscaler"
# Chart 9.59.0 (tag cluster-autoscaler-chart-9.59.0) ships appVersion 1.35.0, i.e. image v1.35.0 by default.
CHART_VERSION = "9.59.0"
# The autoscaler compiles in the scheduler of one Kubernetes minor, so its minor must equal the cluster's (chart
# README, "Prerequisites": "bugs between mismatched versions may be subtle"). The chart sets the image from
# `image.tag` (default: its appVersion), so the tag is pinned per cluster minor. Each is a published release image:
# registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.3 (k8s.io image promotion), v1.34.5 (release
# cluster-autoscaler-1.34.5), v1.35.0 (chart 9.59.0's appVersion).
IMAGE_TAGS = {"1.33": "v1.33.3", "1.34": "v1.34.5", "1.35": "v1.35.0"}
Expander = Literal["least-waste", "random", "most-pods", "price", "priority"]


@runtime_checkable
class AutoscaledCluster(OidcTrust, Protocol):
    """What the autoscaler needs of its cluster (an EksCluster has it): the name its node groups are tagged with and
    its IAM condition scopes, the Kubernetes minor its image follows, and the OIDC provider its role trusts."""

    @property
    def name(self) -> pulumi.Input[str]: ...

    @property
    def kubernetes_version(self) -> str: ...


class ClusterAutoscalerArgsDict(TypedDict, total=False):
    """ClusterAutoscalerArgs as a plain dict: the same keys, validated the same way."""

    cluster: Required[AutoscaledCluster]
    expander: Expander
    chart_version: str
    role_name: str | None
    tags: Mapping[str, str]


class ClusterAutoscalerArgs(ComponentArgs):
    cluster: AutoscaledCluster = Field(description="The cluster whose node groups it scales (an EksCluster).")
    expander: Expander = Field(
        "least-waste", description="How to pick a node group when several fit: least idle CPU/memory after scale-up."
    )
    chart_version: str = CHART_VERSION
    role_name: str | None = Field(None, description="Its IAM role's name; default <stack>-<resource name>-identity.")
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("cluster")
    @classmethod
    def _image_for_its_minor(cls, cluster: AutoscaledCluster) -> AutoscaledCluster:
        if cluster.kubernetes_version not in IMAGE_TAGS:
            raise ValueError(f"Kubernetes {cluster.kubernetes_version!r} has no pinned autoscaler image; supported: {', '.join(IMAGE_TAGS)}")
        return cluster


def autoscaler_policy(cluster_name: str, partition: str = "aws", region: str = "*", account: str = "*") -> str:
    """Least privilege for auto-discovery: reads anywhere, resizes only this cluster's Auto Scaling groups.

    The autoscaler AWS README's "Full Cluster Autoscaler Features Policy (Recommended)" with its second block (the
    only writes) restricted by a tag condition as that README recommends ("It is strongly recommended to restrict
    the target resources for the autoscaling actions ... using tag based conditionals"; "only the second block of
    actions should be updated to restrict the resources/add conditionals"). The reads stay on "*" as there: the
    Auto Scaling Describe* actions take no resource-level permissions (Amazon EC2 Auto Scaling user guide,
    "identity-based policy examples"). EKS tags every managed node group's Auto Scaling group
    ``k8s.io/cluster-autoscaler/<cluster name> = owned``, so the condition admits exactly this cluster's groups.
    One narrowing of the README's read block: eks:DescribeNodegroup takes the resource type nodegroup (Service
    Authorization Reference, "Actions defined by Amazon EKS"), so it reads only this cluster's node groups.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DiscoverNodeGroups",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": f"arn:{partition}:eks:{region}:{account}:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ResizeThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {f"aws:ResourceTag/{AUTOSCALER_TAG_PREFIX}/{cluster_name}": "owned"}},
                },
            ],
        }
    )


def chart_values(
    cluster_name: pulumi.Input[str],
    region: pulumi.Input[str],
    kubernetes_version: str,
    expander: str,
    service_account_annotations: pulumi.Input[dict],
) -> dict[str, Any]:
    """cluster-autoscaler chart values (keys from the chart README's values table)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        # With clusterName set, the chart passes --node-group-auto-discovery=asg:tag=<autoDiscovery.tags>, whose
        # default is exactly the two discovery tags the node groups carry.
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": IMAGE_TAGS[kubernetes_version]},
        "rbac": {
            "create": True,
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": service_account_annotations},
        },
        "extraArgs": {
            "expander": expander,
            # Node groups with the same instance type and labels (e.g. one per zone) are grown evenly.
            "balance-similar-node-groups": True,
            # Replicated kube-system pods (coredns, metrics-server, this one) may move: they must not pin a node.
            "skip-nodes-with-system-pods": False,
            # Model pods mount an emptyDir at /dev/shm: scratch space, so it must not block scaling GPU nodes down.
            "skip-nodes-with-local-storage": False,
        },
        # Runs on the system pool only; it tolerates nothing, so it never lands on (or keeps alive) a GPU node.
        "nodeSelector": dict(SYSTEM_POOL_LABELS),
        "tolerations": [],
        "priorityClassName": "system-cluster-critical",
        # As the autoscaler's own AWS example deployment runs it: non-root (nobody), no privilege escalation.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        # The example deployment's sizing.
        "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}, "limits": {"memory": "600Mi"}},
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    """The cluster autoscaler in kube-system under an IRSA role that may resize only this cluster's node groups.

    Give it the cluster's Kubernetes provider (``providers={"kubernetes": cluster.provider}``) and make it depend on
    the node groups, so it installs once there are system nodes to run on.
    """

    role_arn: pulumi.Output[str]
    release_name: pulumi.Output[str]
    release_status: pulumi.Output[str]
    image_tag: str

    def __init__(
        self, name: str, args: ClusterAutoscalerArgs | ClusterAutoscalerArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(ClusterAutoscalerArgs, args)
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        identity = WorkloadIdentity(
            f"{name}-identity",
            {
                "cluster": args.cluster,
                "namespace": NAMESPACE,
                "service_account": SERVICE_ACCOUNT,
                "role_name": args.role_name,
                "tags": args.tags,
            },
            opts=child,
        )
        invoke = pulumi.InvokeOutputOptions(parent=self)
        # The region of the AWS provider the component runs under, where the node groups are.
        region = get_region_output(opts=invoke).region
        policy = identity.attach_policy(
            "cluster-autoscaler",
            pulumi.Output.all(
                args.cluster.name, get_partition_output(opts=invoke).partition, region, get_caller_identity_output(opts=invoke).account_id
            ).apply(lambda a: autoscaler_policy(*a)),
        )
        self.image_tag = IMAGE_TAGS[args.cluster.kubernetes_version]
        chart = release(
            self,
            CHART,
            chart=CHART,
            repo=CHART_REPO,
            version=args.chart_version,
            namespace=NAMESPACE,
            values=chart_values(
                args.cluster.name,
                region,
                args.cluster.kubernetes_version,
                args.expander,
                identity.service_account_annotations,
            ),
            # The pod must find its permissions in place when it starts resizing groups.
            depends_on=[policy],
        )

        self.role_arn = identity.role_arn
        self.release_name = chart.name
        self.release_status = chart.status.status
        self.register_outputs(
            {
                "role_arn": self.role_arn,
                "release_name": self.release_name,
                "release_status": self.release_status,
                "image_tag": self.image_tag,
            }
        )
