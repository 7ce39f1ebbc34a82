"""Check IAM documents the AWS components produce against moto's IAM, which rejects malformed policies."""

from __future__ import annotations

import json
import uuid

import boto3
import moto

_PERMISSIVE_TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)


def assert_iam_accepts(trust_policy_json: str | None = None, policy_json: str | None = None) -> None:
    """Create a role with the trust policy and/or a managed policy with the document; fail if IAM rejects either."""
    assert trust_policy_json or policy_json, "give a trust policy, a permissions policy, or both"
    with moto.mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        name = f"check-{uuid.uuid4().hex[:12]}"
        role = client.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy_json or _PERMISSIVE_TRUST)
        assert json.loads(trust_policy_json or _PERMISSIVE_TRUST) == role["Role"]["AssumeRolePolicyDocument"]
        if trust_policy_json:
            # moto validates trust documents on update (not on create_role), so send it through that path too.
            client.update_assume_role_policy(RoleName=name, PolicyDocument=trust_policy_json)
        if policy_json:
            policy = client.create_policy(PolicyName=name, PolicyDocument=policy_json)
            client.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
            client.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy_json)
