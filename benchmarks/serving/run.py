"""Serving benchmark: (a) serving batched, (b) serving unbatched, (c) LitServe batched, (d) the limit.

One run, one client, one machine. For each reference model each server is started, checked for correct
outputs and driven at each concurrency; (a) three ways at each concurrency, one after the other: V2 JSON, V2
with the binary tensor data extension (a-bin), and gRPC with raw_input_contents (a-grpc). The limit (d) is the
TorchScript artifact's forward in a loop with batch = concurrency, measured before and after the servers (best
of the two). Prints a table and the ratios; writes JSON.

    python -m benchmarks.serving.run            # full run, ~7 min on a quiet machine
    python -m benchmarks.serving.run --quick    # ~2.5 min, same shape, noisier
"""

from __future__ import annotations

import argparse
import dataclasses
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import orjson
import torch

from serving.oip import open_inference_grpc_pb2 as pb

from . import client, models, servers
from .servers import HOST, KINDS

RESULTS = Path(__file__).parent / "results" / "latest.json"
PROTOCOLS = {"json": "", "binary": "-bin", "grpc": "-grpc"}  # protocol: suffix of the row's server key


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short windows (duration 1.5 s, warmup 0.5 s)")
    parser.add_argument("--models", nargs="+", default=list(models.BUILDERS), choices=list(models.BUILDERS))
    parser.add_argument("--servers", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS),
                        help="how (a) is driven (b and c: JSON only)")
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8, 32, 64])
    parser.add_argument("--duration", type=float, help="measured seconds per cell (default 8, quick 1.5)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each cell (default 2, quick 0.5)")
    parser.add_argument("--max-queue-delay-ms", type=float, default=5.0, help="batching delay for (a) and (c)")
    parser.add_argument("--serving-path", type=Path, default=servers.ROOT, help="checkout to import serving from (A/B a patch)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads, servers and limit")
    parser.add_argument("--server-cpus", default=",".join(map(str, cpus[-1:])), help="CPU ids for servers and limit")
    parser.add_argument("--client-cpus", default=",".join(map(str, cpus[:-1] or cpus)), help="CPU ids for the client")
    parser.add_argument("--json", type=Path, help=f"write results here (full run default: {RESULTS})")
    args = parser.parse_args(argv)
    args.duration = args.duration or (1.5 if args.quick else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.server_cpus = {int(c) for c in args.server_cpus.split(",")}
    args.client_cpus = {int(c) for c in args.client_cpus.split(",")}
    if args.json is None and not args.quick:
        args.json = RESULTS
    return args


def v2_payload(x: torch.Tensor, datatype: str) -> dict:
    return {"inputs": [{"name": "input__0", "shape": list(x.shape), "datatype": datatype, "data": x.flatten().tolist()}]}


def measure_limit(model: torch.jit.ScriptModule, spec: models.ModelSpec, batch: int, seconds: float, cpus: set[int]):
    """(d): back-to-back forwards of one batch on the servers' CPUs; rows/s and per-forward latency."""
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        x = spec.example(batch, seed=1)
        times = []
        with torch.inference_mode():
            model(x)
            end = time.perf_counter() + seconds
            while time.perf_counter() < end or len(times) < 3:
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1e3)
    finally:
        os.sched_setaffinity(0, previous)
    times.sort()
    return {
        "throughput": batch * len(times) / (sum(times) / 1e3),
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, round(0.99 * len(times)) - 1)],
        "errors": 0,
    }


def limits(model, spec: models.ModelSpec, args: argparse.Namespace) -> list[dict]:
    seconds = min(args.duration, 3.0)
    return [
        {"model": spec.name, "server": "d", "label": "limit (no HTTP)", "concurrency": concurrency,
         **measure_limit(model, spec, concurrency, seconds, args.server_cpus)}
        for concurrency in args.concurrency
    ]  # fmt: skip


def encode(protocol: str, server: servers.RunningServer, spec: models.ModelSpec, x: torch.Tensor) -> bytes:
    """One request for `x` as `protocol` sends it (HTTP bytes, or a serialised ModelInferRequest)."""
    path = f"/v2/models/{spec.name}/infer"
    if protocol == "json":
        return client.encode_request(HOST, server.port, path, v2_payload(x, spec.input_datatype))
    if protocol == "binary":
        return client.encode_binary_request(HOST, server.port, path, "input__0", spec.input_datatype, x.numpy())
    return client.encode_grpc_request(spec.name, "input__0", spec.input_datatype, x.numpy())


def answer(protocol: str, server: servers.RunningServer, request: bytes) -> np.ndarray:
    """The first output of the server's answer to `request`, as float32."""
    if protocol == "grpc":
        code, body = asyncio.run(client.grpc_once(server.grpc_target, request))
        if code != grpc.StatusCode.OK:
            raise RuntimeError(f"{server.kind.label} gRPC answered {code}: {body[:300]!r}")
        response = pb.ModelInferResponse.FromString(body)
        return np.frombuffer(response.raw_output_contents[0], "<f4").reshape(response.outputs[0].shape)
    status, headers, body = asyncio.run(client.request_once_with_headers(HOST, server.port, request))
    if status != 200:
        raise RuntimeError(f"{server.kind.label} answered {status}: {body[:300]!r}")
    if protocol == "binary":
        length = int(headers["inference-header-content-length"])
        output = orjson.loads(body[:length])["outputs"][0]
        return np.frombuffer(body[length:], "<f4").reshape(output["shape"])
    output = orjson.loads(body)["outputs"][0]
    return np.asarray(output["data"], np.float32).reshape(output["shape"])


def check_outputs(server: servers.RunningServer, model, spec: models.ModelSpec, protocol: str = "json") -> None:
    """Refuse to benchmark a server whose answer differs from the model's own forward."""
    x = spec.example(1, seed=2)
    got = torch.from_numpy(answer(protocol, server, encode(protocol, server, spec, x)).copy())
    with torch.inference_mode():
        expected = model(x)
    if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
        raise RuntimeError(f"{server.kind.label} ({protocol}) returned wrong outputs for {spec.name}")


def drive(protocol: str, server: servers.RunningServer, requests: list[bytes], concurrency: int, args) -> client.LoadResult:
    if protocol == "grpc":
        return asyncio.run(client.drive_grpc(server.grpc_target, requests, concurrency, args.warmup, args.duration))
    return asyncio.run(client.drive(HOST, server.port, requests, concurrency, args.warmup, args.duration))


def run_server(kind, spec, model, args, workdir: Path) -> list[dict]:
    if kind.max_batch_size > 1:
        kind = dataclasses.replace(kind, max_queue_delay_ms=args.max_queue_delay_ms)
    log = workdir / f"{kind.key}-{spec.name}.log"
    server = servers.RunningServer(kind, spec.path, spec.name, args.server_cpus, args.threads, log, args.serving_path)
    rows = []
    protocols = [p for p in kind.protocols if p in args.protocols] or ["json"]
    try:
        server.wait_ready()
        bodies = {}
        for protocol in protocols:
            check_outputs(server, model, spec, protocol)
            bodies[protocol] = [encode(protocol, server, spec, spec.example(1, seed=s)) for s in range(16)]
        # Protocols interleaved at each concurrency: a noisy neighbour then hits all three alike.
        for concurrency in args.concurrency:
            for protocol in protocols:
                result = drive(protocol, server, bodies[protocol], concurrency, args)
                label = kind.label if len(kind.protocols) == 1 else f"{kind.label} {protocol}"
                rows.append({
                    "model": spec.name, "server": kind.key + PROTOCOLS[protocol], "label": label,
                    "concurrency": concurrency, "throughput": result.throughput, "p50_ms": result.percentile(50),
                    "p99_ms": result.percentile(99), "errors": result.errors,
                })  # fmt: skip
                print(format_row(rows[-1]), flush=True)
    finally:
        server.stop()
    return rows


def format_row(row: dict) -> str:
    return (
        f"{row['label']:<24} {row['model']:<8} {row['concurrency']:>5} {row['throughput']:>10.1f}"
        f" {row['p50_ms']:>9.2f} {row['p99_ms']:>9.2f} {row['errors']:>6}"
    )


def ratios(rows: list[dict]) -> list[dict]:
    """a/d and a/c (throughput; p99, lower is better for a) and a/b throughput, per model and concurrency, and
    the binary and gRPC rows of a against the limit (a-bin/d, a-grpc/d)."""
    index = {(r["model"], r["server"], r["concurrency"]): r for r in rows}
    out = []
    for model, concurrency in sorted({(r["model"], r["concurrency"]) for r in rows}):
        entry = {"model": model, "concurrency": concurrency}
        for mine, others in (("a", "dcb"), ("a-bin", "d"), ("a-grpc", "d")):
            a = index.get((model, mine, concurrency))
            for key in others if a else ():
                other = index.get((model, key, concurrency))
                if other and other["throughput"]:
                    entry[f"throughput_{mine}/{key}"] = a["throughput"] / other["throughput"]
                    entry[f"p99_{mine}/{key}"] = a["p99_ms"] / other["p99_ms"]
        if len(entry) > 2:
            out.append(entry)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.sched_setaffinity(0, args.client_cpus)
    print(" ".join(f"{k}={v}" for k, v in environment(args).items()), flush=True)
    header = f"{'server':<24} {'model':<8} {'conc':>5} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp:
        workdir = Path(tmp)
        for name in args.models:
            spec = models.BUILDERS[name](workdir)
            model = torch.jit.load(str(spec.path)).eval()
            print(header, flush=True)
            before = limits(model, spec, args)
            for key in args.servers:
                rows.extend(run_server(KINDS[key], spec, model, args, workdir))
            # Best of before and after the servers: a noisy neighbour can only slow the limit down.
            for first, second in zip(before, limits(model, spec, args)):
                rows.append(max(first, second, key=lambda row: row["throughput"]))
                print(format_row(rows[-1]), flush=True)
    results = {"environment": environment(args), "rows": rows, "ratios": ratios(rows)}
    print_ratios(results["ratios"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return results


RATIO_COLUMNS = {  # printed name: key in a ratios() entry
    "json/d": "throughput_a/d", "bin/d": "throughput_a-bin/d", "grpc/d": "throughput_a-grpc/d",
    "thr a/c": "throughput_a/c", "p99 a/c": "p99_a/c", "thr a/b": "throughput_a/b", "p99 a/b": "p99_a/b",
}


def print_ratios(entries: list[dict]) -> None:
    print(f"\n{'model':<8} {'conc':>5} " + " ".join(f"{name:>8}" for name in RATIO_COLUMNS))
    for e in entries:
        cells = [e.get(k) for k in RATIO_COLUMNS.values()]
        print(f"{e['model']:<8} {e['concurrency']:>5} " + " ".join(f"{c:>8.2f}" if c else f"{'-':>8}" for c in cells))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def environment(args: argparse.Namespace) -> dict:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": args.threads,
        "server_cpus": sorted(args.server_cpus),
        "client_cpus": sorted(args.client_cpus),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "max_queue_delay_ms": args.max_queue_delay_ms,
    }


if __name__ == "__main__":
    main()
