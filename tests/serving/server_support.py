"""Helpers for the serving tests: real `python -m serving` processes on 127.0.0.1, and reading /metrics."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parents[2]

SERVING_ENV = ("MODEL_URI", "MODEL_NAME", "HOST", "PORT", "MAX_BATCH_SIZE", "MAX_QUEUE_DELAY_MS", "MAX_QUEUE_DEPTH",
               "MAX_BODY_BYTES", "SHUTDOWN_GRACE_S", "READ_TIMEOUT_S", "DEVICE", "NUM_THREADS", "LOG_LEVEL", "ACCESS_LOG", "METRICS",
               "GRPC_PORT")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVING_ENV}
    env.update(extra)
    return env


class Server:
    """A server process; `url` is its base URL, `grpc` its gRPC target. The log is kept for failure messages."""

    def __init__(self, command: list[str], env: dict[str, str], port: int, log_path: Path, grpc_port: int = 0):
        self.url = f"http://127.0.0.1:{port}"
        self.grpc = f"127.0.0.1:{grpc_port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self, matches: Callable[[dict], bool], count: int = 1, timeout: float = 5.0) -> list[dict]:
        """The JSON lines logged so far that ``matches`` accepts, waiting up to ``timeout`` for ``count`` of them: the
        server writes info lines out every serving.logs.FLUSH_S, not as they are logged."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]
            found = [line for line in lines if matches(line)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 60.0) -> "Server":
        """Until /v2/health/ready answers 200 (model loaded and warmed up)."""
        return self._wait_for("/v2/health/ready", "ready", timeout, lambda status: status == 200)

    def wait_live(self, timeout: float = 60.0) -> "Server":
        """Until the HTTP server answers at all (the model may still be loading)."""
        return self._wait_for("/v2/health/live", "live", timeout, lambda status: True)

    def _wait_for(self, path: str, state: str, timeout: float, accept) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if accept(httpx.get(self.url + path, timeout=1.0).status_code):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not {state} within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def launch(tmp: Path, model_uri: str, *flags: str, env: dict[str, str] | None = None, name: str = "m") -> Server:
    """A server on free ports: HTTP, and gRPC unless the flags or env choose (tests run servers side by side, so
    never the default 8081)."""
    port = free_port()
    grpc_port = 0 if "--grpc-port" in flags or "GRPC_PORT" in (env or {}) else free_port()
    command = [sys.executable, "-m", "serving", "--model-uri", model_uri, "--model-name", name,
               "--host", "127.0.0.1", "--port", str(port), *(["--grpc-port", str(grpc_port)] if grpc_port else []), *flags]
    return Server(command, clean_env(**(env or {})), port, tmp / f"server-{port}.log", grpc_port)


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample from Prometheus text, e.g. metric(t, "serving_batch_size_count")."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{wanted} not in /metrics")
