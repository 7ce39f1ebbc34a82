"""What one access line costs the serving process, in µs: ``logger.info(..., extra={"fields": ...})`` through the
logging machinery against serving.logs.info_line, the path the access log takes, in one run. Both write the same JSON
line through the handler ``serving.logs.configure`` installs, here into /dev/null. info_line only queues its line; the
handler formats queued lines when it writes out (every 0.25 s), so each timing ends with a flush and counts the CPU
time of every thread of the process (the periodic flush runs on its own). Printed, never asserted.

    python -m benchmarks.serving.access_line [--lines 20000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import time

from serving import logs

FIELDS = {"method": "POST", "path": "/v2/models/m/infer", "status": 200, "outcome": "ok", "duration_ms": 1.234,
          "model": "m", "client": "127.0.0.1"}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving.access_line", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    logs.configure("INFO")
    handler = logging.root.handlers[0]
    handler.stream = io.BufferedWriter(io.FileIO(os.open(os.devnull, os.O_WRONLY), "w"), buffer_size=64 * 1024)
    log = logging.getLogger("serving.access")
    ways = {
        "logger.info": lambda: log.info("request", extra={"fields": FIELDS}),
        "logs.info_line": lambda: logs.info_line(log, "request", FIELDS),
    }

    def cpu_us_per_line(way) -> float:
        started = time.process_time()
        for _ in range(args.lines):
            way()
        handler.flush()
        return (time.process_time() - started) / args.lines * 1e6

    # Interleaved, best of each: a slow spell of the machine falls on both.
    best = {name: float("inf") for name in ways}
    for _ in range(args.repeat):
        for name, way in ways.items():
            best[name] = min(best[name], cpu_us_per_line(way))
    for name, us in best.items():
        print(f"{name:15} {us:6.2f} µs per access line")
    print(f"info_line / logger.info = {best['logs.info_line'] / best['logger.info']:.2f}")
    return best


if __name__ == "__main__":
    main()
