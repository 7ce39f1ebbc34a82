"""A process of its own for parsing large JSON request bodies, so that health probes and signals never wait behind
one (issue 12, defect 6).

A JSON body is parsed in C calls that hold the GIL for their whole length (orjson.loads of a 20 MB body, then
np.asarray of its millions of numbers: hundreds of ms each), so a parser *thread* still stalls the event loop that
answers /v2/health/live. A parser process has a GIL of its own: this process only sends the body down a pipe (the
write releases the GIL) and takes the arrays back (a copy). Binary bodies (the tensor data extension) and small JSON
bodies do not come here: their parse is a copy, or shorter than the hop.

The process is forked from multiprocessing's fork server, a fresh interpreter that has imported serving.protocol
(numpy and orjson; not torch) and nothing else: no model memory is in it. If it dies (killed, out of memory), parsing
goes back to the parser thread and the server keeps serving. It exits when the server does, however the server ends
(`_exit_with`); the fork server then follows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import select
import threading
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool

from serving.protocol import InferRequest, TensorSpec, parse_infer

log = logging.getLogger("serving.parse")
PROCESS_BYTES = 4 * 1024 * 1024  # JSON bodies larger than this are parsed in the process (a few ms of GIL inline)


class ParseProcess:
    """One worker process, started and warmed by ``start`` (before the server says ready)."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.pid: int | None = None

    async def start(self) -> None:
        """Start and warm the process; if it cannot start (no room for its socket, a process limit), the server
        serves without it, parsing on the parser thread, and says so once."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["serving.protocol"])
        try:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),))
            self.pid = await asyncio.get_running_loop().run_in_executor(self._pool, os.getpid)
        except (OSError, BrokenProcessPool) as exc:
            log.warning("no parser process: large JSON bodies are parsed on the parser thread",
                        extra={"fields": {"error": repr(exc)}})
            self.stop()
            return
        log.info("parser process started", extra={"fields": {"pid": self.pid}})

    def takes(self, size: int, header_length: int | None) -> bool:
        """Whether a body of ``size`` bytes is parsed here: large JSON only, while the process is up."""
        return self._pool is not None and header_length is None and size > PROCESS_BYTES

    async def parse(self, body: bytes, inputs: Sequence[TensorSpec]) -> InferRequest | None:
        """The parsed request (a ProtocolError raises as it would inline); None when the process is gone, and the
        caller parses on its thread."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, parse_infer, body, inputs, None)
        except BrokenProcessPool:
            log.error("the parser process died: large JSON bodies are parsed on the parser thread from now on",
                      extra={"fields": {"pid": self.pid}})
            self.stop()
            return None

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _exit_with(server_pid: int) -> None:
    """In the worker: exit as soon as the serving process has, however it ended.

    A server stopped in order shuts the pool down, but one killed (SIGKILL, out of memory) cannot: the worker would
    wait for work for good, since it holds both ends of its own task pipe and never sees end-of-file, and it holds
    the fork server's "alive" pipe open too, so neither would ever exit (in a container the runtime reaps them with
    the server; run directly, they stay). A pidfd of the server becomes readable when the server exits."""
    try:
        server = os.pidfd_open(server_pid)
    except ProcessLookupError:  # already gone
        os._exit(0)

    def wait() -> None:
        select.select([server], [], [])
        os._exit(0)

    threading.Thread(target=wait, name="exit-with-server", daemon=True).start()
