"""``lepton-infra``: work with stack configs without the engine or credentials.

  lepton-infra schema                 JSON Schema of lepton-platform:platform (for editor completion)
  lepton-infra validate STACK         validate stacks/Pulumi.STACK.yaml's spec; exit 1 with every problem
  lepton-infra plan STACK [--json]    run the stack program offline and list the resources it declares

A plan is what the program declares, run under mocks: not a preview against live state. Secrets are masked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from .testing import run_stack
from .spec import SpecError, json_schema, parse_platform_spec
from .stack_files import StackFileError, platform_config, read_stack_config, stack_file

DEFAULT_STACKS_DIR = Path("stacks")


def _spec(args):
    """The stack's platform spec, validated: a bad stack file is one clear error, before any program runs."""
    config = read_stack_config(args.stack, args.stacks_dir)
    return parse_platform_spec(platform_config(config, stack_file(args.stack, args.stacks_dir)))


def _validate(args) -> int:
    spec = _spec(args)
    cells = ", ".join(f"{c.name} ({c.cloud} {c.region})" for c in spec.cells)
    print(f"{args.stack}: valid; environment {spec.environment}; cells: {cells}; models: {len(spec.models)}")
    return 0


def _plan(args) -> int:
    _spec(args)
    plan = run_stack(args.stack, args.stacks_dir)
    if args.json:
        json.dump(plan.summary(), sys.stdout, indent=2)
        print()
        return 0
    for type_, count in sorted(Counter(r.type for r in plan.resources).items()):
        print(f"{count:4d}  {type_}")
    protected = sum(r.protect for r in plan.resources)
    print(f"{len(plan.resources)} resources, {protected} protected (offline plan: what the program declares)")
    return 0


def _parser() -> argparse.ArgumentParser:
    # --stacks-dir is accepted before or after the subcommand: the subcommand's copy only overrides when given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stacks-dir", type=Path, default=argparse.SUPPRESS, help="directory of Pulumi.<stack>.yaml files (default: stacks)"
    )
    parser = argparse.ArgumentParser(
        prog="lepton-infra", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("schema", help="print the JSON Schema of the platform spec", parents=[common])
    validate = sub.add_parser("validate", help="validate a stack's platform spec", parents=[common])
    validate.add_argument("stack")
    plan = sub.add_parser("plan", help="run a stack offline and list the resources it declares", parents=[common])
    plan.add_argument("stack")
    plan.add_argument("--json", action="store_true", help="print the full plan (urn, type, inputs, flags) as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.stacks_dir = getattr(args, "stacks_dir", DEFAULT_STACKS_DIR)
    try:
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return 0
        return {"validate": _validate, "plan": _plan}[args.command](args)
    except (SpecError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader closed the pipe early (`| head`): normal use. Point stdout at devnull so the interpreter's
        # final flush does not fail again (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
