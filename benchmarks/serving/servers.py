"""Start, probe and stop the servers under test, each a subprocess on a free loopback port.

Every server gets the same CPU budget: the same affinity set and the same torch/OpenMP thread count,
through the environment and sched_setaffinity before exec, so no server can win by using more cores.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import client

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerKind:
    """One server configuration of the comparison."""

    key: str  # a, b, c
    label: str
    module: str  # run as python -m MODULE
    max_batch_size: int
    max_queue_delay_ms: float
    flags: tuple[str, ...] = ()  # further command-line flags (overhead.py: --no-metrics --no-access-log)
    protocols: tuple[str, ...] = ("json",)  # how the harness drives it: json, binary (HTTP), grpc


KINDS = {
    "a": ServerKind("a", "serving batch=32", "serving", 32, 5.0, protocols=("json", "binary", "grpc")),
    "b": ServerKind("b", "serving batch=1", "serving", 1, 5.0),
    "c": ServerKind("c", "litserve batch=32", "benchmarks.serving.litserve_server", 32, 5.0),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def thread_env(threads: int) -> dict[str, str]:
    """Environment fixing intra-op thread pools (OpenMP/MKL for any torch process; NUM_THREADS for serving)."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUM_THREADS")}


class RunningServer:
    def __init__(
        self, kind: ServerKind, model_path: Path, model_name: str, cpus: set[int], threads: int, log: Path,
        serving_path: Path = ROOT,
    ):
        self.kind, self.port, self.model_name = kind, free_port(), model_name
        args = [
            sys.executable, "-m", kind.module,
            "--model-uri", str(model_path), "--model-name", model_name, "--port", str(self.port),
            "--max-batch-size", str(kind.max_batch_size), "--max-queue-delay-ms", str(kind.max_queue_delay_ms),
            *kind.flags,
        ]  # fmt: skip
        self.grpc_target = None
        if kind.module == "serving":  # a free port rather than the default 8081: side by side with anything
            self.grpc_port = free_port()
            self.grpc_target = f"{HOST}:{self.grpc_port}"
            args += ["--grpc-port", str(self.grpc_port)]
        # ROOT for benchmarks.serving.litserve_server; serving_path first, for serving itself.
        env = {**os.environ, **thread_env(threads), "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(serving_path), str(ROOT)]))}
        self.log = log
        self.proc = subprocess.Popen(
            args,
            cwd=serving_path,  # python -m puts the working directory first on sys.path
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        request = f"GET /v2/health/ready HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind.label} exited with {self.proc.returncode}; see {self.log}")
            try:
                if asyncio.run(client.request_once(HOST, self.port, request))[0] == 200:
                    return
            except (OSError, asyncio.IncompleteReadError, ConnectionError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.kind.label} not ready after {timeout_s}s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM the whole process group (LitServe forks workers), then kill what is left."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
