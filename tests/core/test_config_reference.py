"""docs/config-reference.md is the JSON Schema said for people: current, complete, and its rules are the validators'.

The rules in the reference come from the schema, and the schema states the custom validators' rules too
(spec.common.schema_rule); so every stack must pass the schema, and values the validators refuse must fail it.
"""

import copy
import re
from pathlib import Path

import jsonschema
import pytest

from lepton_infra.config_reference import render
from lepton_infra.spec import json_schema
from lepton_infra.stack_files import PLATFORM_KEY, read_stack_config

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "config-reference.md"
STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def test_the_committed_reference_is_the_one_the_schema_gives():
    assert REFERENCE.read_text() == render(), "stale: run `python -m lepton_infra.config_reference > docs/config-reference.md`"


def test_every_field_of_every_object_has_a_row_with_its_default_or_required():
    text = render()
    schema = json_schema()
    for name, definition in [("platform", schema), *schema["$defs"].items()]:
        section = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", section, flags=re.M)
        assert [field for field, _ in rows] == list(definition["properties"]), name
        assert all(default.strip() for _, default in rows), name


def test_the_readme_links_the_reference():
    assert "(docs/config-reference.md)" in (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_the_schema(stack, validator):
    errors = [e.message for e in validator.iter_errors(read_stack_config(stack, ROOT / "stacks")[PLATFORM_KEY])]
    assert errors == []


def _prod():
    return copy.deepcopy(read_stack_config("prod", ROOT / "stacks")[PLATFORM_KEY])


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["cells"][0].update(name="AWS_use1"),  # not a DNS label
        lambda s: s["cells"][2].update(region="us-central-1"),  # AWS spelling of a GCP region
        lambda s: s["cells"][1].update(region="east-us-2"),  # not an Azure region name
        lambda s: s["cells"][1]["cluster"]["system_pool"].update(vm_size="D8ds_v5"),  # not an Azure VM size
        lambda s: s["cells"][1]["network"].update(cidr="10.50.0.0"),  # not a CIDR
        lambda s: s["cells"][0]["gpu_pools"][0].update(accelerator="h200"),  # not in the catalog
        lambda s: s["models"][0].update(accelerator="tpu"),  # neither cpu nor a catalog accelerator
    ],
    ids=["dns-label", "gcp-region", "azure-region", "azure-vm-size", "cidr", "accelerator", "model-accelerator"],
)
def test_what_a_validator_refuses_the_schema_refuses_too(edit, validator):
    spec = _prod()
    edit(spec)
    assert list(validator.iter_errors(spec)), "the schema (and so the reference) misses a rule validation enforces"
