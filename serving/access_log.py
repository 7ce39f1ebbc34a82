"""The access log: one INFO JSON line per HTTP request (``--access-log``, on by default), written by the request-id
middleware (serving/request_id.py) when the request is answered.

Fields: method, path, status, outcome (an inference request's outcome as serving_requests_total counts it, None for
other routes), duration_ms (from the request reaching the app to its response sent), model (the served model),
client, and request_id (the formatter adds the id the line is written under).
"""

from __future__ import annotations

import logging
import time

from starlette.types import Scope

from serving import logs

log = logging.getLogger("serving.access")
# Where a route records the request's outcome in the ASGI scope (Starlette hands routes the same scope dict).
OUTCOME = "serving.outcome"


def record_outcome(scope: Scope, outcome: str) -> None:
    scope[OUTCOME] = outcome


class AccessLog:
    """Writes the access line of an answered HTTP request (or of one that failed unanswered: status 500). Called by
    serving.request_id.RequestId, which wraps every request already, so the line needs no middleware layer of its own
    (a coroutine and a send wrapper more per request; benchmarks/README.md, "What metrics and the request-id access
    log cost")."""

    def __init__(self, model: str):
        self.model = model

    def __call__(self, scope: Scope, status: int, started: float) -> None:
        client = scope.get("client")
        logs.info_line(log, "request", {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "outcome": scope.get(OUTCOME),
            "duration_ms": int((time.perf_counter() - started) * 1e6) / 1000,  # to the µs; round() costs more
            "model": self.model,
            "client": client[0] if client else None,
        })
