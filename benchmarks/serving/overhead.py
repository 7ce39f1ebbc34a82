"""What serving's metrics and request-id access log cost in throughput: the same server code started twice, with
them on (the default) and off (``--no-metrics --no-access-log``), driven in turn by the same client in one run.

Both servers run at once on the servers' CPU (run.py's pinning and thread settings), and only the one being driven
has work. Each repetition starts both afresh and drives them in ABBA order (on first in even repetitions, off first
in odd ones), so a slow spell of the shared machine falls on both; its ratio is on/off throughput of the windows
next to each other. Printed:
every window, then per model and concurrency the median ratio and its spread (min-max), and the cost 1 - median.
The on server's log is read at the end to prove it logged one access line per request it answered.

    python -m benchmarks.serving.overhead                  # ~4 min: encoder and mlp at concurrency 1 and 32
    python -m benchmarks.serving.overhead --quick          # ~1 min, noisier
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch

from . import client, models, servers
from .run import check_outputs, v2_payload
from .servers import HOST, ServerKind

VARIANTS = {
    "on": ServerKind("on", "metrics + access log", "serving", 32, 5.0),
    "off": ServerKind("off", "both off", "serving", 32, 5.0, flags=("--no-metrics", "--no-access-log")),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 repetitions of 1.5 s windows")
    parser.add_argument("--models", nargs="+", default=list(models.BUILDERS), choices=list(models.BUILDERS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repetitions", type=int, help="ABBA pairs per cell (default 4, quick 2)")
    parser.add_argument("--duration", type=float, help="measured seconds per window (default 4, quick 1.5)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each window (default 1, quick 0.3)")
    parser.add_argument("--max-queue-delay-ms", type=float, default=5.0, help="batching delay of both servers")
    parser.add_argument("--server-cpus", default=",".join(map(str, cpus[-1:])))
    parser.add_argument("--client-cpus", default=",".join(map(str, cpus[:-1] or cpus)))
    parser.add_argument("--json", type=Path, help="write the windows and ratios here")
    args = parser.parse_args(argv)
    args.repetitions = args.repetitions or (2 if args.quick else 4)
    args.duration = args.duration or (1.5 if args.quick else 4.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 1.0)
    args.server_cpus = {int(c) for c in args.server_cpus.split(",")}
    args.client_cpus = {int(c) for c in args.client_cpus.split(",")}
    return args


def order(repetition: int) -> tuple[str, str]:
    """ABBA: on first in even repetitions, off first in odd ones."""
    return ("on", "off") if repetition % 2 == 0 else ("off", "on")


def access_lines(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if '"logger":"serving.access"' in line)


def measure_model(spec: models.ModelSpec, args: argparse.Namespace, workdir: Path) -> list[dict]:
    model = torch.jit.load(str(spec.path)).eval()
    path = f"/v2/models/{spec.name}/infer"
    payloads = [v2_payload(spec.example(1, seed=s), spec.input_datatype) for s in range(16)]
    windows, logged = [], {"on": 0, "off": 0}
    for repetition in range(args.repetitions):
        # Fresh processes each repetition: two processes of the same code can differ by a few per cent for reasons
        # of their own (memory layout, allocator state), which would otherwise count as the feature's cost.
        logs = {key: workdir / f"{key}-{spec.name}-{repetition}.log" for key in VARIANTS}
        running = {
            key: servers.RunningServer(dataclasses.replace(kind, max_queue_delay_ms=args.max_queue_delay_ms), spec.path,
                                       spec.name, args.server_cpus, 1, logs[key])
            for key, kind in VARIANTS.items()
        }
        try:
            for server in running.values():
                server.wait_ready()
                check_outputs(server, model, spec)
            for concurrency in args.concurrency:
                for key in order(repetition):
                    windows.append(window(spec, running[key], key, path, payloads, concurrency, repetition, args))
        finally:
            for server in running.values():
                server.stop()
        for key in VARIANTS:  # "on" logged every request it answered (warm-ups and checks included), "off" none
            logged[key] += access_lines(logs[key])
    print(f"{spec.name}: access lines logged: on {logged['on']}, off {logged['off']}", flush=True)
    if logged["off"] or not logged["on"]:
        raise RuntimeError(f"the variants did not log as configured: {logged}")
    return windows


def window(spec, server, key, path, payloads, concurrency, repetition, args) -> dict:
    bodies = [client.encode_request(HOST, server.port, path, payload) for payload in payloads]
    result = asyncio.run(client.drive(HOST, server.port, bodies, concurrency, args.warmup, args.duration))
    if result.errors:
        raise RuntimeError(f"{key} answered {result.errors} requests with an error")
    print(f"{spec.name:<8} {concurrency:>4} {repetition:>3} {key:<4} {result.throughput:>9.1f} req/s "
          f"p50 {result.percentile(50):>7.2f} ms p99 {result.percentile(99):>7.2f} ms", flush=True)
    return {"model": spec.name, "variant": key, "concurrency": concurrency, "repetition": repetition,
            "throughput": result.throughput, "p50_ms": result.percentile(50), "p99_ms": result.percentile(99)}


def ratios(windows: list[dict]) -> list[dict]:
    """Per model and concurrency: each repetition's on/off throughput, their median and spread."""
    index = {(w["model"], w["concurrency"], w["repetition"], w["variant"]): w["throughput"] for w in windows}
    out = []
    for model, concurrency in sorted({(w["model"], w["concurrency"]) for w in windows}):
        reps = sorted({w["repetition"] for w in windows if (w["model"], w["concurrency"]) == (model, concurrency)})
        each = [index[(model, concurrency, r, "on")] / index[(model, concurrency, r, "off")] for r in reps]
        median = statistics.median(each)
        out.append({"model": model, "concurrency": concurrency, "ratios": each, "median": median,
                    "min": min(each), "max": max(each), "cost": 1 - median})
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)
    os.sched_setaffinity(0, args.client_cpus)
    windows = []
    with tempfile.TemporaryDirectory(prefix="serving-overhead-") as tmp:
        workdir = Path(tmp)
        for name in args.models:
            windows += measure_model(models.BUILDERS[name](workdir), args, workdir)
    summary = ratios(windows)
    print(f"\n{'model':<8} {'conc':>5} {'on/off median':>14} {'min':>6} {'max':>6} {'cost':>7}")
    for s in summary:
        print(f"{s['model']:<8} {s['concurrency']:>5} {s['median']:>14.3f} {s['min']:>6.3f} {s['max']:>6.3f} "
              f"{s['cost']:>7.1%}")
    results = {"windows": windows, "ratios": summary, "repetitions": args.repetitions, "duration_s": args.duration}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
