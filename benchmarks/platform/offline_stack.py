"""How long the offline run of a whole stack takes (budget: prod under 5 s on a 2-core machine).

Measures, in one run so the numbers compare:
  cold    a fresh interpreter running the stack offline, imports included (what a test or `lepton-infra plan` pays)
  warm    the same stack again in the same process (imports paid), best and median of N
  floor   the harness with a one-resource program: the fixed cost of the mock runtime
and prints each with its ratio to the 5 s budget and warm/floor.

    python benchmarks/platform/offline_stack.py [--stack prod] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUDGET_S = 5.0

COLD = """
import time, sys
t = time.perf_counter()
from lepton_infra.testing import run_stack
plan = run_stack(sys.argv[1], sys.argv[2])
print(time.perf_counter() - t, len(plan.resources))
"""


def cold(stack: str) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", COLD, stack, str(ROOT / "stacks")], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), int(out[1])


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import pulumi_aws as aws

    from lepton_infra.testing import run, run_stack

    cold_s, count = cold(args.stack)
    run_stack(args.stack, ROOT / "stacks")  # warm the imports
    warm = [timed(lambda: run_stack(args.stack, ROOT / "stacks")) for _ in range(args.repeat)]
    floor = [timed(lambda: run(lambda: aws.kms.Key("k"))) for _ in range(args.repeat)]

    print(f"stack {args.stack}: {count} resources, {args.repeat} repeats, python {sys.version.split()[0]}")
    print(f"{'measure':<8} {'seconds':>9} {'/ budget':>9}")
    print(f"{'cold':<8} {cold_s:9.3f} {cold_s / BUDGET_S:9.2f}")
    print(f"{'warm':<8} {min(warm):9.3f} {min(warm) / BUDGET_S:9.2f}   median {statistics.median(warm):.3f}")
    print(f"{'floor':<8} {min(floor):9.3f} {min(floor) / BUDGET_S:9.2f}")
    print(f"warm / floor = {min(warm) / min(floor):.1f}x  ({(min(warm) - min(floor)) / count * 1000:.2f} ms per resource)")


if __name__ == "__main__":
    main()
