"""Plans of prod and of variants of its spec (a cell removed, a model placed), each made once per test process."""

from __future__ import annotations

import copy
import json
from functools import cache

from cryptography import x509

from lepton_infra.stack_files import read_stack_config
from lepton_infra.testing import OfflinePlan, run_stack
from stack_support import STACKS, planned_stack

PLATFORM_KEY = "lepton-platform:platform"
SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
CELL = "lepton:platform:Cell"


def prod_spec() -> dict:
    return copy.deepcopy(read_stack_config("prod", STACKS)[PLATFORM_KEY])


@cache
def planned_variant(stack: str, spec_json: str) -> OfflinePlan:
    return run_stack(stack, STACKS, config_overrides={PLATFORM_KEY: json.loads(spec_json)})


def plan_of(spec: dict, stack: str = "prod") -> OfflinePlan:
    return planned_variant(stack, json.dumps(spec, sort_keys=True))


def prod() -> OfflinePlan:
    return planned_stack("prod")


def prod_without(cell: str) -> OfflinePlan:
    spec = prod_spec()
    spec["cells"] = [c for c in spec["cells"] if c["name"] != cell]
    return plan_of(spec)


def cell_names(plan: OfflinePlan) -> list[str]:
    platform = plan.one("lepton:platform:Platform")
    return sorted(c.name.removeprefix(f"{platform.name}-") for c in plan.of_type(CELL))


def in_cell(plan: OfflinePlan, cell: str):
    """Every resource below the cell's component."""
    return plan.descendants(plan.one(CELL, f"prod-{cell}"))


def one_in_cell(plan: OfflinePlan, cell: str, type_: str, name_suffix: str):
    [found] = [r for r in in_cell(plan, cell) if r.type == type_ and r.name.endswith(name_suffix)]
    return found


def certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def certificates(pem_bundle: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem_bundle.encode())
