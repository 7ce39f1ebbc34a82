"""Prometheus metrics, on a registry of their own so nothing else leaks into /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, disable_created_metrics, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OUTCOMES = ("ok", "bad_request", "not_found", "not_ready", "queue_full", "abandoned", "read_timeout", "client_disconnected", "error")
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
PROTOCOLS = ("http", "grpc")  # the Open Inference Protocol's two transports (serving/grpc_service.py)


class Metrics:
    enabled = True

    def __init__(self, model_name: str):
        disable_created_metrics()  # the *_created series double the output and nobody graphs them
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        self.requests = Counter(
            "serving_requests", "Inference requests by model, outcome and protocol (http, grpc).",
            ["model", "outcome", "protocol"], registry=registry,
        )
        # Pre-bound children: the hot path does one dict lookup, not a labels() call. Requests for unknown
        # models count under model="" so clients cannot grow the label set.
        self._children = {
            (model, outcome, protocol): self.requests.labels(model, outcome, protocol)
            for model in (model_name, "")
            for outcome in OUTCOMES
            for protocol in PROTOCOLS
        }
        # End to end inside the server (body read to response built), for answered requests only: the latency SLO's
        # signal (its alerts count requests over a bucket bound, so the bounds are the SLO thresholds one may pick).
        self.request_seconds = Histogram(
            "serving_request_duration_seconds", "Time from a request's arrival to its answer, for answered (ok) requests.",
            ["model"], buckets=_SECONDS, registry=registry,
        )
        self._answered = self.request_seconds.labels(model_name)
        self.queue_seconds = Histogram(
            "serving_queue_duration_seconds", "Time a request waited before its batch started.",
            buckets=_SECONDS, registry=registry,
        )
        self.compute_seconds = Histogram(
            "serving_compute_duration_seconds", "Duration of one forward pass (a whole batch).",
            buckets=_SECONDS, registry=registry,
        )
        self.batch_size = Histogram(
            "serving_batch_size", "Rows per forward pass.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=registry,
        )
        self.model_load_seconds = Gauge(
            "serving_model_load_seconds", "Time to fetch and deserialise the model.", registry=registry
        )
        self.queue_depth = Gauge("serving_queue_depth", "Requests waiting for a batch.", registry=registry)

    def count(self, model: str, outcome: str, protocol: str = "http") -> None:
        self._children[(model, outcome, protocol)].inc()

    def answered(self, seconds: float) -> None:
        self._answered.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Ignored:
    """Stands for every histogram and gauge when metrics are off: records nothing."""

    def observe(self, value: float) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def set_function(self, fn) -> None:
        pass


class NoMetrics:
    """``--no-metrics``: the same interface as :class:`Metrics`, recording nothing, and no /metrics route (the
    baseline of benchmarks/serving/overhead.py, and a way out for a deployment that scrapes nothing)."""

    enabled = False

    def __init__(self, model_name: str = ""):
        self.request_seconds = self.queue_seconds = self.compute_seconds = self.batch_size = _Ignored()
        self.model_load_seconds = self.queue_depth = _Ignored()

    def count(self, model: str, outcome: str, protocol: str = "http") -> None:
        pass

    def answered(self, seconds: float) -> None:
        pass

    def render(self) -> bytes:
        return b""


def for_settings(model_name: str, enabled: bool) -> Metrics | NoMetrics:
    return Metrics(model_name) if enabled else NoMetrics(model_name)
