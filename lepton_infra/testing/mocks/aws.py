"""Answers of the AWS provider (pulumi_aws): ARNs, ids and endpoints shaped as AWS gives them."""

from __future__ import annotations

import base64
from typing import Callable

from ._shapes import fake_pem, hex_of, named

PREFIX = "aws"
ACCOUNT_ID = "123456789012"


def arn(service: str, region: str, resource: str, account: bool = True) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID if account else ''}:{resource}"


def _vpc(m, name, inputs, region):
    rid = f"vpc-{hex_of(name, 17)}"
    return rid, {"arn": arn("ec2", region, f"vpc/{rid}"), "defaultSecurityGroupId": f"sg-{hex_of(rid, 17)}"}


def _ec2(prefix: str, kind: str):
    def handler(m, name, inputs, region):
        rid = f"{prefix}-{hex_of(kind + name, 17)}"
        extra = {"arn": arn("ec2", region, f"{kind}/{rid}")}
        if kind == "elastic-ip":
            extra["publicIp"] = f"52.{int(hex_of(name, 2), 16)}.{int(hex_of(name + 'b', 2), 16)}.10"
            extra["allocationId"] = rid
        if kind == "launch-template":
            extra["latestVersion"] = 1
            extra["defaultVersion"] = 1
        return rid, extra

    return handler


def _kms_key(m, name, inputs, region):
    key_id = f"{hex_of(name, 8)}-{hex_of(name + '1', 4)}-{hex_of(name + '2', 4)}-{hex_of(name + '3', 4)}-{hex_of(name + '4', 12)}"
    return key_id, {"arn": arn("kms", region, f"key/{key_id}"), "keyId": key_id}


def _iam(kind: str):
    def handler(m, name, inputs, region):
        physical = named(inputs, name)
        extra = {"arn": arn("iam", "", f"{kind}/{physical}"), "name": physical, "uniqueId": f"AROA{hex_of(name, 17).upper()}"}
        return physical, extra

    return handler


def _oidc_provider(m, name, inputs, region):
    url = str(inputs.get("url", "")).removeprefix("https://")
    return arn("iam", "", f"oidc-provider/{url}"), {"arn": arn("iam", "", f"oidc-provider/{url}")}


def _eks_cluster(m, name, inputs, region):
    physical = named(inputs, name)
    issuer_id = hex_of(physical, 32).upper()
    return physical, {
        "name": physical,
        "arn": arn("eks", region, f"cluster/{physical}"),
        "endpoint": f"https://{issuer_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(fake_pem(physical).encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{issuer_id}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{hex_of(physical, 17)}"},
    }


def _eks_child(kind: str):
    def handler(m, name, inputs, region):
        cluster = inputs.get("clusterName", "cluster")
        child = inputs.get("nodeGroupName") or inputs.get("addonName") or inputs.get("principalArn") or name
        extra = {"arn": arn("eks", region, f"{kind}/{cluster}/{child}/{hex_of(name, 8)}"), "status": "ACTIVE"}
        if kind == "nodegroup":
            # EKS names a managed node group's Auto Scaling group eks-<nodegroup>-<uuid>.
            extra["resources"] = [{"autoscalingGroups": [{"name": f"eks-{child}-{hex_of(name, 8)}-{hex_of(name + 'u', 4)}"}]}]
        return f"{cluster}:{child}", extra

    return handler


def _bucket(m, name, inputs, region):
    physical = inputs.get("bucket") or f"{name}-{hex_of(name, 7)}"
    return physical, {
        "bucket": physical,
        "arn": f"arn:aws:s3:::{physical}",
        "bucketDomainName": f"{physical}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{physical}.s3.{region}.amazonaws.com",
        "region": region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _ecr_repository(m, name, inputs, region):
    physical = named(inputs, name)
    return physical, {
        "arn": arn("ecr", region, f"repository/{physical}"),
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{physical}",
    }


def _glue_database(m, name, inputs, region):
    physical = named(inputs, name)
    return f"{ACCOUNT_ID}:{physical}", {"arn": arn("glue", region, f"database/{physical}"), "catalogId": ACCOUNT_ID}


def _trail(m, name, inputs, region):
    physical = named(inputs, name)
    trail_arn = arn("cloudtrail", region, f"trail/{physical}")
    return trail_arn, {"arn": trail_arn, "homeRegion": region}


def _log_group(m, name, inputs, region):
    physical = named(inputs, name)
    return physical, {"arn": arn("logs", region, f"log-group:{physical}")}



def _public_ip(seed: str) -> str:
    """An address from AWS's public space, different per seed."""
    return f"3.{int(hex_of(seed, 2), 16)}.{int(hex_of(seed + 'b', 2), 16)}.{int(hex_of(seed + 'c', 2), 16) % 254 + 1}"


def _vpn_connection(m, name, inputs, region):
    """Two tunnels with AWS's outside addresses; inside addresses: the gateway takes the first host of each /30."""
    rid = f"vpn-{hex_of(name, 17)}"
    extra = {"arn": arn("ec2", region, f"vpn-connection/{rid}"), "customerGatewayConfiguration": "<xml/>"}
    for n in (1, 2):
        extra[f"tunnel{n}Address"] = _public_ip(f"{name}-{n}")
        if cidr := inputs.get(f"tunnel{n}InsideCidr"):
            base = cidr.split("/")[0].rsplit(".", 1)
            extra[f"tunnel{n}VgwInsideAddress"] = f"{base[0]}.{int(base[1]) + 1}"
            extra[f"tunnel{n}CgwInsideAddress"] = f"{base[0]}.{int(base[1]) + 2}"
        extra[f"tunnel{n}BgpAsn"] = inputs.get("customerGatewayBgpAsn", "")
    return rid, extra


def _with_id(handler):
    """The id among the outputs too, as the provider's state holds it (what one end of a VPN refers to the other by)."""

    def answer(m, name, inputs, region):
        rid, extra = handler(m, name, inputs, region)
        return rid, {**extra, "id": rid}

    return answer


RESOURCES: dict[str, Callable[..., tuple[str, dict]]] = {
    "aws:ec2/vpnGateway:VpnGateway": _with_id(_ec2("vgw", "vpn-gateway")),
    "aws:ec2/customerGateway:CustomerGateway": _with_id(_ec2("cgw", "customer-gateway")),
    "aws:ec2/vpnConnection:VpnConnection": _with_id(_vpn_connection),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _ec2("sgrule", "security-group-rule"),
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _ec2("eipalloc", "elastic-ip"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/launchTemplate:LaunchTemplate": _ec2("lt", "launch-template"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpce", "vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:kms/key:Key": _kms_key,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_child("nodegroup"),
    "aws:eks/addon:Addon": _eks_child("addon"),
    "aws:eks/accessEntry:AccessEntry": _eks_child("access-entry"),
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:glue/catalogDatabase:CatalogDatabase": _glue_database,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudtrail/trail:Trail": _trail,
}


def _azs(m, args, region):
    letters = "abcdef"
    return {
        "names": [f"{region}{c}" for c in letters[:3]],
        "zoneIds": [f"use1-az{i}" for i in range(1, 4)],
        "id": region,
        "state": args.get("state", "available"),
    }


def _caller_identity(m, args, region):
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci", "userId": "AIDAEXAMPLE", "id": ACCOUNT_ID}


def _partition(m, args, region):
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(m, args, region):
    return {"name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com", "description": region, "id": region}


def _ecr_token(m, args, region):
    password = base64.b64encode(b"offline-token").decode()
    return {
        "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
        "userName": "AWS",
        "password": password,
        "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": region,
    }


INVOKES: dict[str, Callable[..., dict]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _azs,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
}
