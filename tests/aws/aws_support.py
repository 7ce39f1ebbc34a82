"""Shared helpers for the AWS component tests."""

from __future__ import annotations

import json

from lepton_infra.testing import OfflinePlan, PlannedResource, rejected  # noqa: F401  (rejected: for the tests)

from moto_checks import assert_kms_accepts

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def ec2_id(resource) -> str:
    """The physical id of an EC2 resource in the plan (the mocks' ARNs end in .../<id>)."""
    return resource.outputs["arn"].rsplit("/", 1)[-1]


def assert_log_group_has_its_own_key(plan: OfflinePlan, group_name: str, group_arn: str) -> PlannedResource:
    """The log group ``group_name`` is encrypted with a rotating customer-managed key whose policy keeps the account
    root as administrator and lets CloudWatch Logs of the key's region use it for exactly ``group_arn`` and nothing
    else; moto accepts the key, its policy and the group under it, and names the group ``group_arn``. Returns the key.
    """
    (group,) = [g for g in plan.of_type(LOG_GROUP) if g.inputs["name"] == group_name]
    (key,) = [k for k in plan.of_type(KEY) if k.outputs["arn"] == group.inputs["kmsKeyId"]]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    assert group_name in key.inputs["description"]
    assert key.urn in group.dependencies
    region, account = group_arn.split(":")[3:5]
    assert key.outputs["arn"].split(":")[3] == region, "CloudWatch Logs needs the key in the log group's region"
    statements = json.loads(key.inputs["policy"])["Statement"]
    (root,) = [s for s in statements if "AWS" in s["Principal"]]
    (logs,) = [s for s in statements if "Service" in s["Principal"]]
    assert len(statements) == 2
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert (root["Effect"], root["Action"], root["Resource"]) == ("Allow", "kms:*", "*") and "Condition" not in root
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"} and logs["Effect"] == "Allow"
    assert sorted(logs["Action"]) == ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}}
    assert assert_kms_accepts(key, group) == group_arn
    return key
