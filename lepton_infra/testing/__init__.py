"""Test a Pulumi program or component offline, under realistic mocks, and get back every resource it declares.

The engine and provider plugins are not needed: the Python SDK talks to an in-process mock monitor. This serves
this repo's tests, users' own tests (as the AWS CDK's ``assertions`` module does), and the offline plan diff.

    from lepton_infra.testing import run

    plan = run(lambda: EksCluster("c", args), config={"aws:region": "us-east-1"})
    cluster = plan.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]

The mocks (lepton_infra/testing/mocks/, one module per provider) answer like the real providers do (ARNs,
endpoints, OIDC issuers, kubeconfigs, repository URLs), so code that parses those values is exercised; an invoke
they do not know is an error, not a silent empty answer.
"""

from .mocks import DEFAULT_REGION, RealisticMocks
from .mocks.aws import ACCOUNT_ID
from .plan import SECRET_MASK, InputPath, OfflinePlan, PlannedResource, unwrap_secrets
from .runner import rejected, run, run_stack
from ..stack_files import read_stack_config

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_REGION",
    "SECRET_MASK",
    "InputPath",
    "OfflinePlan",
    "PlannedResource",
    "RealisticMocks",
    "read_stack_config",
    "rejected",
    "run",
    "run_stack",
    "unwrap_secrets",
]
