"""``lepton-infra``: work with stack configs without the engine or credentials.

  lepton-infra schema                    JSON Schema of lepton-platform:platform (for editor completion)
  lepton-infra validate STACK            validate the stack's spec; exit 1 with every problem
  lepton-infra plan STACK [--format F]   run the stack program offline and print what it declares
                                         (F: table, json, yaml, mermaid, markdown; --json = --format json);
                                         --policy: also check the policy pack's rules, exit 1 on a violation
  lepton-infra diff BASE HEAD            compare two offline plans (plan JSON files or git refs), as Markdown

A plan is an offline plan: what the program declares, run under mocks with no credentials; not a preview against
live state. Secrets are masked in every format. The program and the stack files are found as Pulumi finds them:
the nearest Pulumi.yaml at or above the current folder (its `main` and `stackConfigDir`); STACK is a stack's name
or a path to its Pulumi.<stack>.yaml; --stacks-dir overrides the stack files' folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from .plan_formats import COLORED, FORMATS, PLAIN, Style, build
from .plan_formats import diff as plan_diff
from .plan_formats.sources import SideError, load
from .plan_formats.terminal import progress, wants_color
from .policy import StackContext, evaluate, mandatory
from .project import Project, resolve
from .spec import SpecError, json_schema
from .stack_files import StackFileError, read_platform_spec
from .testing import run_stack
from .testing.runner import fewer_collections

DIFF_HELP = """\
Each side is a plan JSON file (written by `lepton-infra plan STACK --format json`) or a git ref of the repository
here (a branch, tag or commit), planned offline from an export of that ref with the ref's own program, stack files
and library; --stack names the stack to plan at a ref.

Prints Markdown for a pull-request comment: resources added, removed, changed (with the input paths that changed,
secrets masked) and replaced (a new type, name or parent; for Kubernetes objects a new metadata.name or namespace),
the GPU capacity delta per cell and accelerator, and changed outputs. Resources are matched by URN without the
stack's name, so two stacks compare too.

exit status: 0 no changes ("no changes"), 1 changes, 2 error (a side that cannot be read or planned)."""


def _project(args) -> Project:
    return resolve(args.stack, args.stacks_dir)


def _spec(project: Project):
    return read_platform_spec(project.stack, project.stacks_dir)


def _validate(args) -> int:
    project = _project(args)
    spec = _spec(project)
    cells = ", ".join(f"{c.name} ({c.cloud} {c.region})" for c in spec.cells)
    print(f"{project.stack}: valid; environment {spec.environment}; cells: {cells}; models: {len(spec.models)}")
    return 0


def _plan(args) -> int:
    project = _project(args)
    spec = _spec(project)
    with progress(sys.stderr, f"planning {project.stack} offline (what the program declares)"):
        plan = run_stack(project.stack, project.stacks_dir, program_dir=project.program_dir)
    name = "json" if args.json else args.format
    style = Style(wants_color(sys.stdout)) if name in COLORED else PLAIN
    with fewer_collections():  # the plan's heap is large: a full collection would cost more than the formatting
        text = FORMATS[name](build(project.stack, plan, spec), style)
    sys.stdout.write(text)
    return _policy_check(plan, spec) if args.policy else 0


def _policy_check(plan, spec) -> int:
    """The policy pack's rules over the offline plan (lepton_infra.policy): each violation on stderr, so the plan on
    stdout stays what its format says; exit 1 when a mandatory rule is broken."""
    violations = evaluate(plan, StackContext.of_spec(spec))
    for violation in violations:
        print(f"policy: {violation}", file=sys.stderr)
    broken = mandatory(violations)
    print(f"policy: {len(broken)} mandatory violation(s), {len(violations) - len(broken)} advisory", file=sys.stderr)
    return 1 if broken else 0


def _diff(args) -> int:
    try:
        with progress(sys.stderr, f"planning {args.base} and {args.head} offline"):
            base = load(args.base, args.stack, Path.cwd())
            head = load(args.head, args.stack, Path.cwd())
    except (SideError, SpecError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changes = plan_diff.compare(base, head)
    sys.stdout.write(plan_diff.render(changes, args.base, args.head, Style(wants_color(sys.stdout))))
    return 1 if changes else 0


def _parser() -> argparse.ArgumentParser:
    # --stacks-dir is accepted before or after the subcommand: the subcommand's copy only overrides when given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stacks-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="folder of the Pulumi.<stack>.yaml files (default: Pulumi.yaml's stackConfigDir, else ./stacks)",
    )
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="lepton-infra", description=__doc__, formatter_class=raw, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("schema", help="print the JSON Schema of the platform spec", description="Print the JSON Schema of "
                   "the platform spec (lepton-platform:platform), for editor completion.", parents=[common])
    validate = sub.add_parser("validate", help="validate a stack's platform spec", parents=[common],
                              description="Validate a stack's platform spec; exit 1 listing every problem.")
    validate.add_argument("stack", help="a stack's name, or a path to its Pulumi.<stack>.yaml")
    plan = sub.add_parser(
        "plan",
        help="run a stack offline and print what it declares",
        parents=[common],
        formatter_class=raw,
        description="Run the stack's program offline (mocks, no credentials) and print what it declares: an offline "
        "plan,\nnot a preview against live state. Secrets are masked in every format.\n\n"
        "  table     resources by cell and component, protected ones, GPU capacity, outputs (default)\n"
        "  json      the plan document, sorted: for committing, and for `lepton-infra diff`\n"
        "  yaml      the Kubernetes objects, one document each (kubernetes-validate --strict), Helm releases listed\n"
        "  mermaid   the topology: clouds, cells, clusters, GPU pools, lakes, models, mesh links\n"
        "  markdown  a summary for a pull-request comment\n\n"
        "Colour and a progress line on a terminal only; NO_COLOR=1 turns colour off.\n\n"
        "exit status: 0, or 1 when the stack's file or spec is invalid (every problem is printed) or, with --policy,\n"
        "a mandatory rule of the policy pack is broken (each violation is printed on stderr).",
    )
    plan.add_argument("stack", help="a stack's name, or a path to its Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=list(FORMATS), default=next(iter(FORMATS)), help="how to print the plan (default: table)")
    plan.add_argument("--json", action="store_true", help="shorthand for --format json")
    plan.add_argument(
        "--policy", action="store_true", help="check the policy pack's rules (policy-pack/, lepton_infra.policy) over the plan"
    )
    # No --stacks-dir here: a ref's stack files are found from that ref's own Pulumi.yaml.
    diff = sub.add_parser("diff", help="compare two offline plans (plan JSON files or git refs)", description=DIFF_HELP,
                          formatter_class=raw)
    diff.add_argument("base", help="plan JSON file or git ref: the before")
    diff.add_argument("head", help="plan JSON file or git ref: the after")
    diff.add_argument("--stack", help="the stack to plan at a side that is a git ref")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.stacks_dir = getattr(args, "stacks_dir", None)
    try:
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return 0
        return {"validate": _validate, "plan": _plan, "diff": _diff}[args.command](args)
    except (SpecError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader closed the pipe early (`| head`): normal use. Point stdout at devnull so the interpreter's
        # final flush does not fail again (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run() -> NoReturn:
    """The `lepton-infra` command: ``main``, then exit without the interpreter's teardown.

    A plan leaves a heap of about a million objects (the SDKs' classes, the plan); tearing it down at exit (a full
    collection, then every module's namespace cleared) took 1.9 s of a 6.5 s `plan prod`, for nothing: the output is
    written and nothing else needs closing. So the streams are flushed and the process ends with ``os._exit``. Tests
    call ``main``, which returns.
    """
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head`): what it did not read is not an error (see main)
        pass
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
