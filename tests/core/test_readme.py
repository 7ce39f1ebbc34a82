"""The README's library example runs as written: what a user pastes into their own Pulumi program works."""

import json
import re
from pathlib import Path

from lepton_infra.offline import run

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_library_example_declares_a_cluster_a_gpu_pool_a_lake_and_a_grant():
    example = next(block for block in python_blocks() if "from lepton_infra.components.aws import" in block)
    plan = run(lambda: exec(example, {"__name__": "__main__"}), config={"aws:region": "us-east-1"})

    assert len(plan.of_type("aws:eks/cluster:Cluster")) == 1
    group = next(g for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.inputs["amiType"].endswith("NVIDIA"))
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in group.inputs["taints"]
    assert group.inputs["capacityType"] == "SPOT"
    reader = plan.one("aws:iam/role:Role", name="trainer-role")
    [grant] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == reader.outputs["name"]]
    policy = json.loads(grant.inputs["policy"])
    resources = {r for statement in policy["Statement"] for r in _list(statement["Resource"])}
    assert any(r.startswith("arn:aws:s3:::ml-dev-curated") for r in resources)
    assert not any(zone in r for r in resources for zone in ("-raw", "-features", "-models")), resources
    assert set(plan.stack_outputs) == {"kubeconfig"}


def _list(value):
    return value if isinstance(value, list) else [value]
