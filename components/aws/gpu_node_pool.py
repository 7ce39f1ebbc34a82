"""A GPU node pool on EKS that carries the hybrid scheduling contract and can scale from zero.

Nodes boot the EKS AL2023 NVIDIA AMI (``amiType AL2023_x86_64_NVIDIA``: NVIDIA driver, container toolkit and
runtime preinstalled; https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html#AmazonEKS-Type-Nodegroup-amiType,
https://docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html), so the GPU operator runs without its
driver and toolkit here.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, Sequence, TypedDict
import pulumi
import pulumi_aws.autoscaling as autoscaling
import pulumi_aws.eks as eks
from pydantic import Field

from lepton_infra import catalog
from lepton_infra.conventions import GPU_RESOURCE, GPU_TAINT, gpu_node_labels
from lepton_infra.spec import ComponentArgs, GpuPoolSpec, PulumiInput, parse_model

from .cluster import EksCluster
from .node_template import node_launch_template

AMI_TYPE = "AL2023_x86_64_NVIDIA"
_CAPACITY_TYPES = {"spot": "SPOT", "on-demand": "ON_DEMAND"}
# Cluster autoscaler tag formats (cluster-autoscaler/cloudprovider/aws/README.md, "Auto-Discovery Setup" and
# "Scaling a node group to 0"; eksctl "Scaling up from 0": https://docs.aws.amazon.com/eks/latest/eksctl/autoscaling.html).
AUTOSCALER_TAG_PREFIX = "k8s.io/cluster-autoscaler"


class GpuNodePoolArgsDict(TypedDict, total=False):
    """GpuNodePoolArgs as a plain dict: the same keys, validated the same way."""

    pool: Required[GpuPoolSpec | Mapping[str, Any]]
    cluster: Required[EksCluster]
    subnet_ids: PulumiInput[Sequence[PulumiInput[str]]] | None
    tags: Mapping[str, str]


class GpuNodePoolArgs(ComponentArgs):
    pool: GpuPoolSpec
    cluster: EksCluster = Field(description="The cluster the pool joins: its name, node role, version and subnets.")
    subnet_ids: PulumiInput[Sequence[PulumiInput[str]]] | None = Field(
        None, description="Where the nodes go; default: the cluster's subnets."
    )
    tags: dict[str, str] = Field(default_factory=dict)


AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"


def node_labels(pool: GpuPoolSpec) -> dict[str, str]:
    """The contract's labels, plus the one the cluster autoscaler's AWS provider reads to know a node has GPUs
    (GPULabel in cloudprovider/aws): it then treats a new node as unready until the device plugin advertises them,
    instead of scaling up again for the pods still pending meanwhile."""
    return {**gpu_node_labels(pool.name, pool.accelerator, pool.capacity), AUTOSCALER_GPU_LABEL: pool.accelerator}


def node_template_tags(pool: GpuPoolSpec) -> dict[str, str]:
    """What the autoscaler must know about a node before one exists: its labels, the GPU taint and GPU count."""
    labels = node_labels(pool)
    return {
        **{f"{AUTOSCALER_TAG_PREFIX}/node-template/label/{k}": v for k, v in labels.items()},
        f"{AUTOSCALER_TAG_PREFIX}/node-template/taint/{GPU_TAINT.key}": f"{GPU_TAINT.value}:{GPU_TAINT.effect}",
        f"{AUTOSCALER_TAG_PREFIX}/node-template/resources/{GPU_RESOURCE}": str(pool.gpus_per_node),
    }


def autoscaler_tags(cluster_name: str, pool: GpuPoolSpec) -> dict[str, str]:
    return {f"{AUTOSCALER_TAG_PREFIX}/enabled": "true", f"{AUTOSCALER_TAG_PREFIX}/{cluster_name}": "owned", **node_template_tags(pool)}


class GpuNodePool(pulumi.ComponentResource):
    """An EKS managed node group of one catalog machine type with the contract's taint and labels."""

    node_group_name: pulumi.Output[str]
    instance_type: str
    labels: dict[str, str]
    taints: list[dict[str, str]]

    def __init__(
        self, name: str, args: GpuNodePoolArgs | GpuNodePoolArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(GpuNodePoolArgs, args)
        args.pool.require_offered_on("aws")
        super().__init__("lepton:aws:GpuNodePool", name, None, opts)
        pool = args.pool
        self.instance_type = catalog.machine_type(pool.accelerator, "aws", pool.gpus_per_node)
        self.labels = node_labels(pool)
        self.taints = [GPU_TAINT.as_eks()]

        template = node_launch_template(self, name, disk_size_gb=pool.disk_size_gb, tags=args.tags)
        cluster = args.cluster
        group = eks.NodeGroup(
            name,
            cluster_name=cluster.name,
            node_role_arn=cluster.node_role_arn,
            subnet_ids=cluster.subnet_ids if args.subnet_ids is None else args.subnet_ids,
            version=cluster.kubernetes_version,
            ami_type=AMI_TYPE,
            instance_types=[self.instance_type],
            capacity_type=_CAPACITY_TYPES[pool.capacity],
            scaling_config={"min_size": pool.min_size, "max_size": pool.max_size, "desired_size": pool.desired},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=self.labels,
            taints=self.taints,
            tags=cluster.name.apply(lambda c: {**args.tags, **autoscaler_tags(c, pool)}),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The cluster autoscaler owns the current size once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        # EKS puts only the discovery tags on the node group's Auto Scaling group; the node-template tags must be
        # on the ASG itself for scale-from-zero (kubernetes/autoscaler#3780), so they are set there one by one.
        asg_name = group.resources[0].autoscaling_groups[0].name
        for key, value in node_template_tags(pool).items():
            autoscaling.Tag(
                f"{name}-{_slug(key)}",
                autoscaling_group_name=asg_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.node_group_name = group.node_group_name
        self.register_outputs(
            {"node_group_name": self.node_group_name, "instance_type": self.instance_type, "labels": self.labels, "taints": self.taints}
        )


def _slug(key: str) -> str:
    """k8s.io/cluster-autoscaler/node-template/label/lepton.ai/pool -> label-lepton-ai-pool (a resource name)."""
    return key.removeprefix(f"{AUTOSCALER_TAG_PREFIX}/node-template/").replace("/", "-").replace(".", "-")
