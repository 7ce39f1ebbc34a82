"""What printing a plan adds to the offline run: the plan document and each format, on an already-run stack.

`lepton-infra plan STACK --format F` = the offline run (offline_stack.py) + building the plan document + rendering F;
the budget for the last two is about 0.2 s on prod, so formatting stays a small part of the 5 s run. Prints, per
format, the best and median of N renders, with the document's build time, under the CLI's GC settings.

    python -m benchmarks.platform.plan_formats [--stack prod] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from lepton_infra.plan_formats import FORMATS, PLAIN, build
from lepton_infra.stack_files import read_platform_spec
from lepton_infra.testing import run_stack
from lepton_infra.testing.runner import fewer_collections

ROOT = Path(__file__).resolve().parents[2]
BUDGET_S = 0.2


def measure(stack: str, repeat: int) -> dict[str, list[float]]:
    """{"document": [seconds...], <format>: [seconds...]} over ``repeat`` builds and renders of ``stack``'s plan."""
    stacks = ROOT / "stacks"
    plan = run_stack(stack, stacks)
    spec = read_platform_spec(stack, stacks)
    seconds: dict[str, list[float]] = {"document": [], **{name: [] for name in FORMATS}}
    with fewer_collections():
        for _ in range(repeat):
            start = time.perf_counter()
            doc = build(stack, plan, spec)
            seconds["document"].append(time.perf_counter() - start)
            for name, render in FORMATS.items():
                start = time.perf_counter()
                render(doc, PLAIN)
                seconds[name].append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    seconds = measure(args.stack, args.repeat)
    for name, times in seconds.items():
        print(f"{name:<10} best {min(times) * 1000:7.1f} ms  median {statistics.median(times) * 1000:7.1f} ms")
    worst = min(seconds["document"]) + max(min(t) for n, t in seconds.items() if n != "document")
    print(f"document + slowest format: {worst * 1000:.1f} ms ({worst / BUDGET_S:.2f} of the {BUDGET_S} s budget)")


if __name__ == "__main__":
    main()
