"""The launch template every EKS managed node group here uses: encrypted gp3 root volume, IMDSv2 only.

A managed node group's ``disk_size`` cannot be combined with a launch template, and only a launch template can
ask for an encrypted root volume and IMDSv2, so every pool (system and GPU) goes through this one helper.
"""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_aws.ec2 as ec2

# AL2023 EKS AMIs boot from /dev/xvda (https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html).
ROOT_DEVICE = "/dev/xvda"
# Hop limit 1: pods (one network hop further) cannot reach the node's instance credentials through IMDS. Every
# AWS-calling workload here uses IRSA or Pod Identity instead, including the VPC CNI (see cluster.py). EKS best
# practices: https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
IMDS_HOP_LIMIT = 1


def node_launch_template(
    parent: pulumi.Resource,
    name: str,
    *,
    disk_size_gb: int,
    tags: Mapping[str, str],
    kms_key_arn: pulumi.Input[str] | None = None,
) -> ec2.LaunchTemplate:
    """A launch template with an encrypted gp3 root volume of ``disk_size_gb`` and IMDSv2 required.

    Without ``kms_key_arn`` the volume is encrypted with the account's EBS key. A customer-managed key must have a
    key policy that lets the Auto Scaling service-linked role use it, or nodes fail to launch
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
    """
    ebs = {"volume_size": disk_size_gb, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"}
    if kms_key_arn is not None:
        ebs["kms_key_id"] = kms_key_arn
    return ec2.LaunchTemplate(
        name,
        description="EKS nodes: encrypted gp3 root volume, IMDSv2 required",
        block_device_mappings=[{"device_name": ROOT_DEVICE, "ebs": ebs}],
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": IMDS_HOP_LIMIT,
        },
        # Managed node groups do not copy their own tags to instances and volumes; the template does.
        tag_specifications=[{"resource_type": kind, "tags": dict(tags)} for kind in ("instance", "volume")],
        update_default_version=True,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
