"""Request ids: every HTTP request gets one, echoed in the response and put on every log line logged while it runs.

The id is the caller's ``x-request-id`` header when it sends a usable one (Envoy, and so every Istio sidecar, sets it
on each request it proxies and passes it on: the mesh's id for the request), a new UUID4 otherwise (as Envoy makes
them). It lives in a context variable for the request's task, so :class:`serving.logs.JsonFormatter` adds it to any
line logged from the request's handler (its warnings and errors included) without the handler passing it on. Work
on other threads (the batch worker serves many requests at once) logs without one.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_HEADER_BYTES = HEADER.encode()
# What is taken from the caller: visible ASCII, up to 128 characters (a UUID is 36). Anything else is replaced by a new
# id, so a caller cannot put control characters or a megabyte into every log line of its request.
_USABLE = re.compile(rb"[\x21-\x7e]{1,128}")

current: ContextVar[str | None] = ContextVar("serving_request_id", default=None)


def new_id() -> str:
    """A random UUID4, from the random module rather than uuid.uuid4's os.urandom (a system call per request): a
    request id must be unique, not unpredictable."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def incoming(scope: Scope) -> str | None:
    """The caller's usable x-request-id, None when it sent none (or one that is not usable)."""
    for key, value in scope["headers"]:
        if key == _HEADER_BYTES:
            return value.decode("ascii") if _USABLE.fullmatch(value) else None
    return None


class RequestId:
    """ASGI middleware: sets :data:`current` for the request and echoes the id as the response's x-request-id; then,
    still under the id, hands the answered request to `access_log` (serving.access_log.AccessLog) when there is one."""

    def __init__(self, app: ASGIApp, access_log: Callable[[Scope, int, float], None] | None = None):
        self.app, self.access_log = app, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = incoming(scope) or new_id()
        header = (_HEADER_BYTES, request_id.encode("ascii"))
        status = 500  # what the access log says of a request that fails unanswered

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log is not None:
                self.access_log(scope, status, started)
            current.reset(token)
