"""Dynamic batching: many concurrent requests, one forward pass.

The event loop appends requests to a bounded queue; one dedicated worker thread takes the oldest request,
adds later requests with the same batch key (datatypes and trailing shapes) until the batch holds
`max_batch_size` rows or `max_delay_s` has passed since the later of the oldest request's arrival and the end
of the previous forward pass (or no other request can arrive: every open connection already has one queued),
concatenates along dimension 0, runs
the forward pass (torch releases the GIL, so the event loop keeps parsing meanwhile), splits the outputs
back by row counts and resolves all the batch's futures with one `call_soon_threadsafe`.

Why the delay also counts from the end of the previous forward: requests that arrived during a forward have
already waited longer than the delay when it ends, so a delay counted from arrival alone starts the next
forward at once with whatever is queued. Under a steady closed loop that settles into two alternating half
batches (one computing while the other's answers go out and its next requests come in), and a model whose
forward costs about the same for 16 rows as for 32 then serves half its throughput. Giving the batch one
delay to fill after each forward costs a request at most that delay, and fills the batches (benchmarks/README.md).

If a batched forward fails, each member is run again on its own so only the request the model rejects gets
an error: one bad tensor never costs its neighbours their answers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from serving.metrics import Metrics
from serving.protocol import InferRequest

log = logging.getLogger("serving.batcher")

Outputs = list[tuple[str, str, np.ndarray]]
Predict = Callable[[Sequence[np.ndarray], Sequence[str]], Outputs]


class QueueFull(Exception):
    """The bounded queue is full: answered with 503 and Retry-After."""


class ModelError:
    """The model raised on this request alone (a result value, not an exception: cheap to pass around)."""

    __slots__ = ("message",)

    def __init__(self, exc: BaseException):
        lines = [line for line in str(exc).splitlines() if line.strip()]
        # TorchScript errors carry a long interpreter traceback; the last line names the actual failure.
        detail = lines[-1].strip() if lines else type(exc).__name__
        self.message = f"the model rejected the input: {detail[:500]}"


class Abandoned:
    """The grace period ran out before this request's forward pass finished: answered with 503 and Retry-After."""

    __slots__ = ()


ABANDONED = Abandoned()


class _Split(Exception):
    """A batched output's dimension 0 does not match the input rows, so it cannot be split."""


class _Work:
    __slots__ = ("request", "future", "enqueued")

    def __init__(self, request: InferRequest, future: asyncio.Future):
        self.request = request
        self.future = future
        self.enqueued = time.monotonic()


class Batcher:
    def __init__(
        self,
        predict: Predict,
        max_batch_size: int,
        max_delay_s: float,
        max_depth: int,
        metrics: Metrics,
        open_connections: Callable[[], int] | None = None,
    ):
        """`open_connections` counts the HTTP connections that could still send a request (HTTP/1.1 carries one
        request at a time per connection): once that many are queued, waiting longer cannot grow the batch."""
        self._predict = predict
        self._open_connections = open_connections
        self._max_rows = max_batch_size
        self._max_delay = max_delay_s
        self._max_depth = max_depth
        self._metrics = metrics
        self._queue: collections.deque[_Work] = collections.deque()
        self._queued_rows = 0
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._running: list[_Work] = []  # the batch in the worker's forward pass
        self._free_since = 0.0  # when the worker's last forward ended: the next batch may fill until then + delay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="serving-batcher", daemon=True)
        metrics.queue_depth.set_function(lambda: len(self._queue))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, request: InferRequest) -> asyncio.Future:
        """Queue a request (event loop thread only); the future resolves to Outputs, a ModelError or ABANDONED."""
        future = self._loop.create_future()
        with self._cond:
            if self._closed:  # abandoned: the process is on its way out
                future.set_result(ABANDONED)
                return future
            if len(self._queue) >= self._max_depth:
                raise QueueFull
            was_empty = not self._queue
            self._queue.append(_Work(request, future))
            self._queued_rows += request.rows
            # Wake the worker only when it has something new to decide: otherwise it sleeps until its deadline.
            if was_empty or self._queued_rows >= self._max_rows or self._nobody_else_can_join():
                self._cond.notify()
        return future

    def abandon(self) -> None:
        """Resolve every queued and running request with ABANDONED and stop taking batches (event loop thread).

        The forward pass under way is not interrupted (torch cannot be); its results are dropped."""
        with self._cond:
            self._closed = True
            abandoned = [*self._queue, *self._running]
            self._queue.clear()
            self._queued_rows = 0
            self._cond.notify()
        _deliver(abandoned, [ABANDONED] * len(abandoned))

    def close(self, timeout: float) -> None:
        """Finish what is queued, then stop the worker."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    # -- worker thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while (batch := self._next_batch()) is not None:
                try:
                    results = self._execute(batch)
                except Exception as exc:  # never let the worker die: it is the only one
                    log.exception("batch failed")
                    results = [ModelError(exc)] * len(batch)
                with self._cond:
                    self._running = []
                    self._free_since = time.monotonic()
                self._loop.call_soon_threadsafe(_deliver, batch, results)

    def _next_batch(self) -> list[_Work] | None:
        with self._cond:
            while True:
                if not self._queue:
                    if self._closed:
                        return None
                    self._cond.wait()
                    continue
                first = self._queue[0]
                batch, full = [first], first.request.rows >= self._max_rows
                rows = first.request.rows
                if not full:
                    for work in self._queue:
                        if work is first or work.request.key != first.request.key:
                            continue
                        if rows + work.request.rows > self._max_rows:
                            full = True
                            break
                        batch.append(work)
                        rows += work.request.rows
                        if rows == self._max_rows:
                            full = True
                            break
                wait = max(first.enqueued, self._free_since) + self._max_delay - time.monotonic()
                if full or wait <= 0 or self._closed or self._nobody_else_can_join():
                    self._remove(batch)
                    self._running = batch
                    return batch
                self._cond.wait(wait)

    def _nobody_else_can_join(self) -> bool:
        """Every open connection has a request queued: no request can arrive before these are answered."""
        return self._open_connections is not None and len(self._queue) >= self._open_connections()

    def _remove(self, batch: list[_Work]) -> None:
        queue = self._queue
        if all(queue[i] is work for i, work in enumerate(batch)):  # the common case: a prefix
            for _ in batch:
                queue.popleft()
        else:
            taken = {id(work) for work in batch}
            self._queue = collections.deque(work for work in queue if id(work) not in taken)
        self._queued_rows -= sum(work.request.rows for work in batch)

    def _execute(self, batch: list[_Work]) -> list[Outputs | ModelError]:
        started = time.monotonic()
        observe_queue = self._metrics.queue_seconds.observe
        for work in batch:
            observe_queue(started - work.enqueued)
        if len(batch) > 1:
            try:
                return self._forward(batch)
            except Exception:  # someone in the batch is bad (or the outputs don't split): isolate them
                log.debug("batched forward failed; retrying %d requests one by one", len(batch), exc_info=True)
        results: list[Outputs | ModelError] = []
        for work in batch:
            try:
                results.extend(self._forward([work]))
            except Exception as exc:
                results.append(ModelError(exc))
        return results

    def _forward(self, batch: list[_Work]) -> list[Outputs]:
        requests = [work.request for work in batch]
        if len(requests) == 1:
            arrays = requests[0].arrays
        else:
            arrays = [np.concatenate([r.arrays[i] for r in requests]) for i in range(len(requests[0].arrays))]
        rows = sum(r.rows for r in requests)
        started = time.perf_counter()
        outputs = self._predict(arrays, requests[0].datatypes)
        self._metrics.compute_seconds.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(rows)
        if len(requests) == 1:
            return [outputs]
        for name, _, array in outputs:
            if array.ndim == 0 or array.shape[0] != rows:
                raise _Split(f"output {name!r} has shape {array.shape}, expected {rows} rows")
        results, start = [], 0
        for request in requests:
            end = start + request.rows
            results.append([(name, datatype, array[start:end]) for name, datatype, array in outputs])
            start = end
        return results


def _deliver(batch: list[_Work], results: Sequence[Outputs | ModelError | Abandoned]) -> None:
    for work, result in zip(batch, results):
        if not work.future.done():
            work.future.set_result(result)
