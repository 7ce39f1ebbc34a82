"""The VPC an EKS cell lives in: public subnets for load balancers and NAT, private subnets for nodes and pods.

Subnets are tagged the way the AWS Load Balancer Controller discovers them (kubernetes.io/role/elb on public,
kubernetes.io/role/internal-elb on private, kubernetes.io/cluster/<name>=shared):
https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html#_subnet_tagging
"""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict
import ipaddress
import json

import pulumi
import pulumi_aws as aws
import pulumi_aws.ec2 as ec2
import pulumi_aws.iam as iam
from pydantic import Field

from lepton_infra.spec import ComponentArgs, NetworkSpec, parse_model

from . import _iam, _logs

# Private subnets get 1/8 of the VPC each (the VPC CNI gives every pod a VPC address, so they need room);
# all public subnets share one further 1/8, split eight ways (they hold only load balancers and NAT gateways).
_SPLIT_BITS = 3
# CloudWatch accepts only certain retention values; 90 days covers an incident review window.
FLOW_LOG_RETENTION_DAYS = 90


class NetworkArgsDict(TypedDict, total=False):
    """NetworkArgs as a plain dict: the same keys, validated the same way."""

    spec: Required[NetworkSpec | Mapping[str, Any]]
    cluster_name: Required[str]
    tags: Mapping[str, str]
    protected: bool


class NetworkArgs(ComponentArgs):
    spec: NetworkSpec
    cluster_name: str = Field(description="The EKS cluster's physical name, for the kubernetes.io/cluster/<name> tag.")
    tags: dict[str, str] = Field(default_factory=dict)
    protected: bool = Field(False, description="Protect and retain the flow-log group and its key (prod).")


def subnet_cidrs(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) CIDRs, one of each per AZ, disjoint and inside ``cidr``; computed from the spec alone."""
    blocks = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=_SPLIT_BITS))
    if zones > len(blocks) - 1:
        raise ValueError(f"{cidr} has room for {len(blocks) - 1} AZs, not {zones}")
    public = list(blocks[-1].subnets(prefixlen_diff=_SPLIT_BITS))[:zones]
    return [str(n) for n in public], [str(n) for n in blocks[:zones]]


def _zone(names: list[str], index: int) -> str:
    if index >= len(names):
        raise ValueError(
            f"network.availability_zones asks for {index + 1} AZs but the region has {len(names)} available: {names}"
        )
    return names[index]


class Network(pulumi.ComponentResource):
    """VPC, per-AZ public/private subnets, IGW, NAT gateway(s), route tables and VPC flow logs."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs | NetworkArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(NetworkArgs, args)
        super().__init__("lepton:aws:Network", name, None, opts)
        self._name, self._tags, self._protected = name, args.tags, args.protected
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)

        vpc = ec2.Vpc(
            name, cidr_block=spec.cidr, enable_dns_hostnames=True, enable_dns_support=True, tags=self._tagged(name), opts=child
        )
        # Only standard AZs: Local / Wavelength zones need opt-in and do not host EKS control-plane ENIs.
        azs = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        zones = [azs.names.apply(lambda names, i=i: _zone(names, i)) for i in range(spec.availability_zones)]
        public_cidrs, private_cidrs = subnet_cidrs(spec.cidr, spec.availability_zones)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        public = [
            ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones[i],
                # Nodes live in private subnets; public ones hold only load balancers and NAT gateways.
                map_public_ip_on_launch=False,
                tags=self._tagged(f"{name}-public-{i}", {"kubernetes.io/role/elb": "1", **cluster_tag}),
                opts=child,
            )
            for i, cidr in enumerate(public_cidrs)
        ]
        private = [
            ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones[i],
                tags=self._tagged(f"{name}-private-{i}", {"kubernetes.io/role/internal-elb": "1", **cluster_tag}),
                opts=child,
            )
            for i, cidr in enumerate(private_cidrs)
        ]

        igw = ec2.InternetGateway(name, vpc_id=vpc.id, tags=self._tagged(name), opts=child)
        public_routes = ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=self._tagged(f"{name}-public"),
            opts=child,
        )
        for i, subnet in enumerate(public):
            ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child)

        nats = [self._nat_gateway(i, subnet, igw) for i, subnet in enumerate(public[: 1 if spec.single_nat_gateway else None])]
        self.private_route_table_ids: list[pulumi.Output[str]] = []
        for i, subnet in enumerate(private):
            nat = nats[i % len(nats)]
            routes = ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags=self._tagged(f"{name}-private-{i}"),
                opts=child,
            )
            ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            self.private_route_table_ids.append(routes.id)  # where a VPN gateway propagates its peers' routes

        self._flow_logs(vpc, args.cluster_name)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.register_outputs(
            {"vpc_id": self.vpc_id, "public_subnet_ids": self.public_subnet_ids, "private_subnet_ids": self.private_subnet_ids}
        )

    def _tagged(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self._tags, "Name": name, **(extra or {})}

    def _nat_gateway(self, index: int, subnet: ec2.Subnet, igw: ec2.InternetGateway) -> ec2.NatGateway:
        child = pulumi.ResourceOptions(parent=self)
        eip = ec2.Eip(f"{self._name}-nat-{index}", domain="vpc", tags=self._tagged(f"{self._name}-nat-{index}"), opts=child)
        # A NAT gateway needs the IGW attached before it can route (EC2 docs: NAT gateway basics).
        return ec2.NatGateway(
            f"{self._name}-{index}",
            allocation_id=eip.allocation_id,
            subnet_id=subnet.id,
            connectivity_type="public",
            tags=self._tagged(f"{self._name}-{index}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
        )

    def _flow_logs(self, vpc: ec2.Vpc, cluster_name: str) -> None:
        """All VPC traffic metadata to CloudWatch Logs, through a role only VPC Flow Logs of this account can assume."""
        child = pulumi.ResourceOptions(parent=self)
        aws_account = _iam.aws_account(self)
        account, region, partition = aws_account.account_id, aws_account.region, aws_account.partition
        # Under a customer-managed key of its own; kept in protected environments (an audit trail of the traffic).
        log_group, _ = _logs.encrypted_log_group(
            self,
            f"{self._name}-flow-logs",
            account=aws_account,
            log_group_name=f"/aws/vpc/{cluster_name}/flow-logs",
            retention_in_days=FLOW_LOG_RETENTION_DAYS,
            tags=self._tags,
            protected=self._protected,
        )
        # Confused-deputy guard recommended by https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
        trust = _iam.service_trust_policy(
            "vpc-flow-logs.amazonaws.com",
            {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": pulumi.Output.concat("arn:", partition, ":ec2:", region, ":", account, ":vpc-flow-log/*")},
            },
        )
        role, _ = _iam.role(
            self, f"{self._name}-flow-logs", physical=(cluster_name, "vpc-flow-logs"), trust_policy=trust,
            description="VPC Flow Logs writes to its own log group", tags=self._tags,
        )
        iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=log_group.arn.apply(flow_log_policy),
            opts=child,
        )
        ec2.FlowLog(
            self._name,
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags,
            opts=child,
        )


def flow_log_policy(log_group_arn: str) -> str:
    """Least privilege for flow logs: write streams and events into the one log group created for them."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                }
            ],
        }
    )
