"""uvicorn's httptools protocol with a deadline on each request's arrival.

uvicorn times out idle keep-alive connections but not a request that arrives slowly: headers sent a byte
at a time (slowloris) are held indefinitely, and so is a connection opened and never used. Here each request
has `read_timeout_s` from its first byte to the end of its headers; past it the client gets 408 and the
connection is closed. A new connection counts as idle until its first byte (uvicorn's keep-alive timeout). The same deadline, stored in the ASGI scope under
READ_DEADLINE (event loop time), bounds the body in the app (serving/app.py), so headers and body together
arrive within `read_timeout_s`, as Go's http.Server ReadTimeout does.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("serving.connections")
READ_DEADLINE = "lepton.read_deadline"


def read_timeout_response(read_timeout_s: float) -> str:
    return f"the request did not arrive within {read_timeout_s:g} s (--read-timeout-s / READ_TIMEOUT_S)"


def protocol(read_timeout_s: float) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn.Config(http=...), with this read timeout."""
    body = orjson.dumps({"error": read_timeout_response(read_timeout_s)})
    timed_out = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    class DeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            # A connection opened and not used is an idle one: uvicorn's keep-alive timeout closes it quietly.
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

        def on_message_begin(self) -> None:  # the request's first byte
            super().on_message_begin()
            deadline = self.loop.time() + read_timeout_s
            self._disarm()
            self._header_timer = self.loop.call_at(deadline, self._headers_timed_out)
            self.scope[READ_DEADLINE] = deadline  # type: ignore[literal-required]

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_timed_out(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            log.debug("request headers timed out", extra={"fields": {"client": self.client}})
            if self.cycle is None or self.cycle.response_complete:  # else a pipelined request: a 408 would
                self.transport.write(timed_out)                     # land inside the response under way
            self.transport.close()

    return DeadlineProtocol
