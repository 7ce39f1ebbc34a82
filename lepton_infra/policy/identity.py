"""No wildcard actions or resources in identity policies (docs/design.md, "Rules": grants, never hand-written IAM).

- AWS: identity policy documents (role, user, group inline policies and managed policies). A wildcard action
  (``*``, ``s3:*``, ``s3:Get*``) is always a violation in an Allow. ``Resource: "*"`` in an Allow is a violation
  unless the statement is narrowed by a ``Condition``, or every action in it is one AWS authorizes on no resource
  (the Service Authorization Reference lists no resource type for it: the table below, with its source). Resource
  policies (bucket policies, KMS key policies, trust policies) are not identity policies and are not read here.
  AWS managed policies attached by ARN are AWS's and not visible as documents.
- Azure: custom role definitions' ``permissions[].actions`` / ``dataActions`` with ``*`` (the platform has none).
- GCP: custom roles' ``permissions`` with ``*`` (the platform has none).
"""

from __future__ import annotations

from typing import Iterator

from . import _types as t
from ._model import Resource, Rule, StackContext, document, get, items

NAME = "no-wildcard-identity-policies"

# Actions with no resource type in the AWS Service Authorization Reference ("Actions defined by ..." tables of Amazon
# EC2 Auto Scaling and Amazon EC2): they can only be granted on "*". Add an action only with that table's word for it.
RESOURCELESS_ACTIONS = frozenset({
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
})


def _aws_statement_problems(statement) -> Iterator[str]:
    if get(statement, "Effect") != "Allow":
        return
    sid = f" {get(statement, 'Sid')}" if get(statement, "Sid") else ""
    actions = [a for a in items(get(statement, "Action")) if isinstance(a, str)]
    if get(statement, "NotAction") is not None:
        yield f"statement{sid} allows NotAction (everything but a list); right: the actions needed, by name"
    wild = [a for a in actions if "*" in a]
    if wild:
        yield f"statement{sid} allows wildcard actions {', '.join(wild)}; right: the actions needed, by name"
    if get(statement, "NotResource") is not None:
        yield f"statement{sid} uses NotResource; right: the resources needed, by ARN"
    resources = [r for r in items(get(statement, "Resource")) if isinstance(r, str)]
    if any(_everything(r) for r in resources):
        unscoped = [a for a in actions if a not in RESOURCELESS_ACTIONS]
        if get(statement, "Condition") is None and unscoped:
            yield (
                f'statement{sid} allows {", ".join(unscoped)} on Resource "*"; right: the ARNs they act on (or a '
                "Condition narrowing the statement); only actions AWS authorizes on no resource may stay on *"
            )


def _everything(arn: str) -> bool:
    """``*``, or an ARN whose resource part is ``*`` (``arn:aws:s3:::*``): every resource of a service."""
    parts = arn.split(":", 5)
    return arn == "*" or (len(parts) == 6 and parts[5] == "*")


def check(resource: Resource, stack: StackContext) -> Iterator[str]:
    if resource.type in t.IAM_POLICY_DOCUMENTS:
        doc = document(get(resource.inputs, t.IAM_POLICY_DOCUMENTS[resource.type]))
        for statement in items(get(doc, "Statement")):
            for problem in _aws_statement_problems(statement):
                yield f"IAM policy {resource.name}: {problem}"
    if resource.type == t.AZURE_ROLE_DEFINITION:
        for permission in items(get(resource.inputs, "permissions")):
            wild = [a for key in ("actions", "dataActions") for a in items(get(permission, key)) if "*" in str(a)]
            if wild:
                yield f"Azure role definition {resource.name} allows {', '.join(wild)}; right: the operations needed, by name"
    if resource.type in t.GCP_CUSTOM_ROLES:
        wild = [p for p in items(get(resource.inputs, "permissions")) if "*" in str(p)]
        if wild:
            yield f"GCP custom role {resource.name} lists {', '.join(wild)}; right: the permissions needed, by name"


RULE = Rule(
    NAME,
    "Identity policies name their actions and resources: no wildcard actions, no Resource * except for actions AWS "
    "authorizes on no resource or under a Condition (AWS IAM, Azure role definitions, GCP custom roles).",
    "resource",
    check,
    not_covered=("AWS managed policies attached by ARN", "resource policies (bucket, key and trust policies)"),
)
