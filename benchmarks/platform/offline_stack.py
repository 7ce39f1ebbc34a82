"""How long the offline run of a whole stack takes (budget: prod under 5 s on a 2-core machine).

Measures, in one run so the numbers compare:
  cold    a fresh interpreter running the stack offline, imports included (what a test process pays)
  command `lepton-infra plan STACK --format json` in a new process, start to exit (what a user or a pipeline pays)
  warm    the same stack again in the same process (imports paid), best and median of N
  floor   the harness with a one-resource program: the fixed cost of the mock runtime
  models  the stack with its first model copied N times (default 1, 10, 100), warm: seconds per added model in each
          interval, and the last interval's over the first (1.0 = linear growth)
and prints each with its ratio to the 5 s budget and warm/floor.

    python benchmarks/platform/offline_stack.py [--stack prod] [--repeat 5] [--models 1,10,100]
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
SPEC_KEY = "lepton-platform:platform"

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


def command(stack: str) -> float:
    """Wall time of `lepton-infra plan STACK --format json`, process start to exit: what a user or a pipeline pays
    (the interpreter's start, every import, the run, the JSON, and the exit)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lepton_infra", "plan", stack, "--format", "json"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def with_models(stack: str, count: int) -> dict:
    """The stack's config with its first model copied ``count`` times (one name and artifact each)."""
    from lepton_infra.testing import read_stack_config

    config = read_stack_config(stack, ROOT / "stacks")
    spec = config[SPEC_KEY]
    first = spec["models"][0]
    spec["models"] = [{**first, "name": f"m{i}", "artifact": f"m{i}/v1/model.pt"} for i in range(count)]
    return {SPEC_KEY: spec}


def per_model(stack: str, counts: list[int], repeat: int) -> None:
    from lepton_infra.testing import run_stack

    seconds = {}
    for n in counts:
        overrides = with_models(stack, n)
        seconds[n] = min(timed(lambda: run_stack(stack, ROOT / "stacks", config_overrides=overrides)) for _ in range(repeat))
        print(f"{'models':<8} {n:>4} models {seconds[n]:9.3f} s")
    counts = sorted(counts)
    if len(counts) < 2:
        return  # one count: no interval to compare
    slopes = [(seconds[b] - seconds[a]) / (b - a) for a, b in zip(counts, counts[1:])]
    for (a, b), slope in zip(zip(counts, counts[1:]), slopes):
        print(f"per added model, {a} -> {b}: {slope * 1000:.1f} ms")
    print(f"last interval / first: {slopes[-1] / slopes[0]:.2f} (1.00 = linear; above: each model costs more as they grow)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", default="1,10,100", help="model counts to compare (comma-separated)")
    args = parser.parse_args()

    import pulumi_aws as aws

    from lepton_infra.testing import run, run_stack

    cold_s, count = cold(args.stack)
    command_s = command(args.stack)
    run_stack(args.stack, ROOT / "stacks")  # warm the imports
    warm = [timed(lambda: run_stack(args.stack, ROOT / "stacks")) for _ in range(args.repeat)]
    floor = [timed(lambda: run(lambda: aws.kms.Key("k"))) for _ in range(args.repeat)]

    print(f"stack {args.stack}: {count} resources, {args.repeat} repeats, python {sys.version.split()[0]}")
    print(f"{'measure':<8} {'seconds':>9} {'/ budget':>9}")
    print(f"{'cold':<8} {cold_s:9.3f} {cold_s / BUDGET_S:9.2f}")
    print(f"{'command':<8} {command_s:9.3f} {command_s / BUDGET_S:9.2f}   lepton-infra plan {args.stack} --format json, start to exit")
    print(f"{'warm':<8} {min(warm):9.3f} {min(warm) / BUDGET_S:9.2f}   median {statistics.median(warm):.3f}")
    print(f"{'floor':<8} {min(floor):9.3f} {min(floor) / BUDGET_S:9.2f}")
    print(f"warm / floor = {min(warm) / min(floor):.1f}x  ({(min(warm) - min(floor)) / count * 1000:.2f} ms per resource)")
    per_model(args.stack, [int(n) for n in args.models.split(",")], max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
