"""The batcher's timing rule, driven directly: a forward pass the test holds open, requests queued meanwhile."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from serving.batcher import Batcher
from serving.metrics import NoMetrics
from serving.protocol import InferRequest

DELAY_S = 0.3


def one_row(value: float) -> InferRequest:
    array = np.full((1, 2), value, np.float32)
    return InferRequest(id=None, arrays=(array,), datatypes=("FP32",), rows=1, key=("FP32", (2,)), outputs=None)


class HeldForward:
    """A model whose first forward pass waits for `release`; it records each batch's rows."""

    def __init__(self):
        self.release, self.started = threading.Event(), threading.Event()
        self.batches: list[list[float]] = []

    def __call__(self, arrays, datatypes):
        self.batches.append(arrays[0][:, 0].tolist())
        self.started.set()
        self.release.wait(10)
        return [("y", "FP32", arrays[0] * 2)]


async def run_scenario(model: HeldForward, late_arrivals: int) -> list:
    """A full batch of 4 is held in its forward while 2 requests queue for longer than the delay; after it ends,
    `late_arrivals` more requests come in well within one delay."""
    batcher = Batcher(model, max_batch_size=4, max_delay_s=DELAY_S, max_depth=64, metrics=NoMetrics())
    batcher.start(asyncio.get_running_loop())
    first = [batcher.submit(one_row(i)) for i in range(4)]
    await asyncio.to_thread(model.started.wait, 10)
    queued = [batcher.submit(one_row(10 + i)) for i in range(2)]
    await asyncio.sleep(DELAY_S * 1.5)  # the queued pair has now waited longer than the delay
    model.release.set()
    await asyncio.gather(*first)
    await asyncio.sleep(DELAY_S / 6)
    late = [batcher.submit(one_row(20 + i)) for i in range(late_arrivals)]
    answers = await asyncio.wait_for(asyncio.gather(*first, *queued, *late), 10)
    batcher.close(5)
    return answers


def test_requests_queued_during_a_forward_get_one_delay_after_it_to_fill_their_batch():
    """Started at once (the pair has waited past the delay since arriving), the next forward would hold 2 rows and
    the late pair a third; counted from the forward's end, the four share one."""
    model = HeldForward()
    answers = asyncio.run(run_scenario(model, late_arrivals=2))
    assert model.batches == [[0, 1, 2, 3], [10, 11, 20, 21]]
    assert [float(outputs[0][2][0, 0]) for outputs in answers] == [2 * v for v in (0, 1, 2, 3, 10, 11, 20, 21)]


def test_a_batch_that_does_not_fill_still_goes_after_one_delay():
    model = HeldForward()
    answers = asyncio.run(run_scenario(model, late_arrivals=0))
    assert model.batches == [[0, 1, 2, 3], [10, 11]]
    assert len(answers) == 6
