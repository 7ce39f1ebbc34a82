"""The access log: one INFO JSON line per HTTP request (``--access-log``, on by default), from ASGI middleware.

Fields: method, path, status, outcome (an inference request's outcome as serving_requests_total counts it, None for
other routes), duration_ms (from the request reaching the app to its response sent), model (the served model),
client, and request_id (added by the formatter from serving.request_id, which must wrap this middleware).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import logs

log = logging.getLogger("serving.access")
# Where a route records the request's outcome in the ASGI scope (Starlette hands routes the same scope dict).
OUTCOME = "serving.outcome"


def record_outcome(scope: Scope, outcome: str) -> None:
    scope[OUTCOME] = outcome


class AccessLog:
    """Logs each HTTP request once it is answered (or fails unanswered: status 500)."""

    def __init__(self, app: ASGIApp, model: str):
        self.app, self.model = app, model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client")
            logs.info_line(log, "request", {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "outcome": scope.get(OUTCOME),
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "model": self.model,
                "client": client[0] if client else None,
            })
