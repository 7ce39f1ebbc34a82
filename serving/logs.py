"""Structured logs: one JSON object per line on stderr, for every logger (uvicorn's included).

Lines are buffered and written out at least every FLUSH_S seconds, when the buffer fills, at once for a warning or an
error, and at exit (logging.shutdown): one write per access line (sys.stderr flushes every line) would be a system
call per request. What a killed process (SIGKILL, OOM) loses is at most FLUSH_S of info and debug lines.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time

import orjson

from serving import request_id


class JsonFormatter(logging.Formatter):
    _second, _stamp = -1, ""  # the last second formatted, and its text (a handler formats under its lock)

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": round(record.created, 6),
            "time": self._time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.current.get()
        if rid is not None:  # logged while a request was handled (serving/request_id.py)
            doc["request_id"] = rid
        fields = getattr(record, "fields", None)
        if fields:
            doc.update(fields)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


FLUSH_S = 0.25
_BUFFER_BYTES = 64 * 1024


class BufferedLineHandler(logging.Handler):
    """Formatted lines to a file descriptor through a buffer (see the module docstring for when it is written)."""

    def __init__(self, fd: int, flush_s: float = FLUSH_S):
        super().__init__()
        self.stream = io.BufferedWriter(io.FileIO(fd, "w", closefd=False), buffer_size=_BUFFER_BYTES)
        self._flush_s = flush_s
        # Not "serving-...": __main__._exit waits for no thread of this name (it flushes through logging.shutdown).
        threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:  # called under self.lock (logging.Handler.handle)
        try:
            self.stream.write(self.format(record).encode() + b"\n")
            if record.levelno >= logging.WARNING:
                self.stream.flush()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:
            try:
                self.stream.flush()
            except (OSError, ValueError):  # the descriptor is gone (closed pipe) or the handler closed
                pass

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(self._flush_s)
            self.flush()


def configure(level: str) -> None:
    sys.stderr.flush()
    handler = BufferedLineHandler(sys.stderr.fileno())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
