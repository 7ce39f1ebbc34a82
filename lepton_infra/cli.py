"""``lepton-infra``: work with stack configs without the engine or credentials.

  lepton-infra schema                 JSON Schema of lepton-platform:platform (for editor completion)
  lepton-infra validate STACK         validate stacks/Pulumi.STACK.yaml's spec; exit 1 with every problem
  lepton-infra plan STACK [--json]    run the stack program offline and list the resources it declares
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from .offline import read_stack_config, run_stack
from .spec import CONFIG_KEY, CONFIG_NAMESPACE, SpecError, json_schema, parse_platform_spec


def _validate(args) -> int:
    config = read_stack_config(args.stack, args.stacks_dir)
    spec = parse_platform_spec(config.get(f"{CONFIG_NAMESPACE}:{CONFIG_KEY}") or {})
    cells = ", ".join(f"{c.name} ({c.cloud} {c.region})" for c in spec.cells)
    print(f"{args.stack}: valid; environment {spec.environment}; cells: {cells}; models: {len(spec.models)}")
    return 0


def _plan(args) -> int:
    plan = run_stack(args.stack, args.stacks_dir)
    if args.json:
        json.dump(plan.summary(), sys.stdout, indent=2)
        print()
        return 0
    for type_, count in sorted(Counter(r.type for r in plan.resources).items()):
        print(f"{count:4d}  {type_}")
    protected = sum(r.protect for r in plan.resources)
    print(f"{len(plan.resources)} resources, {protected} protected")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lepton-infra", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="directory of Pulumi.<stack>.yaml files")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("schema", help="print the JSON Schema of the platform spec")
    validate = sub.add_parser("validate", help="validate a stack's platform spec")
    validate.add_argument("stack")
    plan = sub.add_parser("plan", help="run a stack offline and list its resources")
    plan.add_argument("stack")
    plan.add_argument("--json", action="store_true", help="print the full plan (urn, type, inputs, flags) as JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return 0
        return {"validate": _validate, "plan": _plan}[args.command](args)
    except (SpecError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
