"""Settings from flags and environment variables.

Every option has a flag and an environment variable; the flag wins. The container image runs a bare
`python -m serving`, so the environment is the normal way to configure a deployment. A bad value is
reported with both spellings of the option and the allowed values, and the process exits with code 2
(argparse's convention for usage errors).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DEVICES = ("auto", "cpu", "cuda")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclasses.dataclass(frozen=True)
class Settings:
    model_uri: str
    model_name: str
    host: str = "0.0.0.0"
    port: int = 8080
    grpc_port: int = 8081  # 0: no gRPC endpoint
    max_batch_size: int = 32
    max_queue_delay_ms: float = 5.0
    max_queue_depth: int = 1024
    max_body_bytes: int = 64 * 1024 * 1024
    shutdown_grace_s: float = 30.0
    read_timeout_s: float = 10.0
    device: str = "auto"
    num_threads: int = 0
    log_level: str = "info"
    access_log: bool = True  # one INFO line per request (serving/access_log.py)
    metrics: bool = True  # Prometheus metrics and GET /metrics (serving/metrics.py)


def _int(low: int, high: int | None = None) -> Callable[[str], int]:
    def convert(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError
        return value

    convert.allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"  # type: ignore[attr-defined]
    return convert


def _port_or_off(text: str) -> int:
    value = text.strip().lower()
    if value == "off":
        return 0
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError
    return port


_port_or_off.allowed = "a port in 1..65535, or 0 / off for none"  # type: ignore[attr-defined]


def _float(low: float) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = float(text)
        if not value >= low or value == float("inf"):  # also rejects nan
            raise ValueError
        return value

    convert.allowed = f"a finite number >= {low:g}"  # type: ignore[attr-defined]
    return convert


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError
        return value

    convert.allowed = "one of " + ", ".join(choices)  # type: ignore[attr-defined]
    return convert


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value not in _BOOLEANS:
        raise ValueError
    return _BOOLEANS[value]


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
_bool.allowed = "true or false (also 1/0, yes/no, on/off)"  # type: ignore[attr-defined]


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError
    return text.strip()


_text.allowed = "a non-empty string"  # type: ignore[attr-defined]

# (field, flag, env var, converter, help)
OPTIONS: tuple[tuple[str, str, str, Callable[[str], Any], str], ...] = (
    ("model_uri", "--model-uri", "MODEL_URI", _text, "artifact URI: path, file://, s3://, gs://, az://, abfs://"),
    ("model_name", "--model-name", "MODEL_NAME", _text, "name the model is served under"),
    ("host", "--host", "HOST", _text, "address to bind (default 0.0.0.0)"),
    ("port", "--port", "PORT", _int(1, 65535), "port to listen on (default 8080)"),
    ("grpc_port", "--grpc-port", "GRPC_PORT", _port_or_off,
     "gRPC port (Open Inference Protocol), 0 or off for none (default 8081)"),
    ("max_batch_size", "--max-batch-size", "MAX_BATCH_SIZE", _int(1), "rows per forward (default 32)"),
    ("max_queue_delay_ms", "--max-queue-delay-ms", "MAX_QUEUE_DELAY_MS", _float(0.0),
     "longest wait for a batch to fill, ms (default 5)"),
    ("max_queue_depth", "--max-queue-depth", "MAX_QUEUE_DEPTH", _int(1),
     "queued requests before 503 (default 1024)"),
    ("max_body_bytes", "--max-body-bytes", "MAX_BODY_BYTES", _int(1), "largest request body (default 64 MiB)"),
    ("shutdown_grace_s", "--shutdown-grace-s", "SHUTDOWN_GRACE_S", _float(0.0),
     "drain time after SIGTERM, s (default 30)"),
    ("read_timeout_s", "--read-timeout-s", "READ_TIMEOUT_S", _float(0.1),
     "longest a request may take to arrive, headers and body, s (default 10)"),
    ("device", "--device", "DEVICE", _choice(DEVICES), "auto, cpu or cuda (default auto)"),
    ("num_threads", "--num-threads", "NUM_THREADS", _int(0), "torch intra-op threads, 0 = torch default"),
    ("log_level", "--log-level", "LOG_LEVEL", _choice(LOG_LEVELS), "debug, info, warning or error"),
    # Switches: --flag / --no-flag, or the variable set to true or false.
    ("access_log", "--access-log", "ACCESS_LOG", _bool, "one INFO JSON line per request (default on)"),
    ("metrics", "--metrics", "METRICS", _bool, "Prometheus metrics on GET /metrics (default on)"),
)


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge flags over environment over defaults; exit 2 with a message naming the option on error."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description="PyTorch inference server speaking the Open Inference Protocol (KServe V2).",
    )
    for field, flag, env, convert, help_text in OPTIONS:
        if convert is _bool:
            parser.add_argument(flag, dest=field, action=argparse.BooleanOptionalAction, help=f"{help_text} [env {env}]")
        else:
            parser.add_argument(flag, dest=field, metavar=env, help=f"{help_text} [env {env}]")
    args = parser.parse_args(argv)

    values: dict[str, Any] = {}
    for field, flag, env, convert, _ in OPTIONS:
        raw = getattr(args, field)
        source = flag
        if raw is None:
            raw, source = environ.get(env), env
        if raw is None:
            continue
        if isinstance(raw, bool):  # a switch given as --flag / --no-flag
            values[field] = raw
            continue
        try:
            values[field] = convert(raw)
        except ValueError:
            parser.error(f"{flag} / {env}: invalid value {raw!r} (from {source}); expected {convert.allowed}")  # type: ignore[attr-defined]
    for field, flag, env in (("model_uri", "--model-uri", "MODEL_URI"), ("model_name", "--model-name", "MODEL_NAME")):
        if field not in values:
            parser.error(f"{flag} / {env} is required")
    return Settings(**values)
