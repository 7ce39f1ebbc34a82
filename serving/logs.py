"""Structured logs: one JSON object per line on stderr, for every logger (uvicorn's included).

Lines are buffered and written out at least every FLUSH_S seconds, when the buffer fills, at once for a warning or an
error, and at exit (logging.shutdown): one write per access line (sys.stderr flushes every line) would be a system
call per request. What a killed process (SIGKILL, OOM) loses is at most FLUSH_S of info and debug lines.
"""

from __future__ import annotations

import collections
import io
import logging
import sys
import threading
import time
from typing import Any, Mapping

import orjson

from serving import request_id


class JsonFormatter(logging.Formatter):
    _second, _stamp = -1, ""  # the last second formatted, and its text (a handler formats under its lock)

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"

    def line(
        self, created: float, level: str, logger: str, msg: str, fields: Mapping[str, Any] | None, rid: str | None
    ) -> dict:
        """The JSON object of one line, but for a traceback; `rid` is the request id it was logged under."""
        doc = {"ts": round(created, 6), "time": self._time(created), "level": level, "logger": logger, "msg": msg}
        if rid is not None:  # logged while a request was handled (serving/request_id.py)
            doc["request_id"] = rid
        if fields:
            doc.update(fields)
        return doc

    def format(self, record: logging.LogRecord) -> str:
        doc = self.line(record.created, record.levelname.lower(), record.name, record.getMessage(),
                        getattr(record, "fields", None), request_id.current.get())
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def info_line(logger: logging.Logger, msg: str, fields: Mapping[str, Any]) -> None:
    """``logger.info(msg, extra={"fields": fields})``, the same line, for the access log's one line per request: written
    straight to the handler ``configure`` installed, without a LogRecord, the caller lookup and the walk up the logger
    hierarchy, which are about four fifths of a line's cost (benchmarks/README.md, "What metrics and the request-id
    access log cost"). Logger filters do not apply. Elsewhere (no such handler: tests, a library) it is logger.info."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _configured
    if handler is None or logging.root.handlers != [handler]:
        logger.info(msg, extra={"fields": fields})
        return
    handler.emit_info(logger.name, msg, fields)


FLUSH_S = 0.25
_BUFFER_BYTES = 64 * 1024


class BufferedLineHandler(logging.Handler):
    """Formatted lines to a file descriptor through a buffer (see the module docstring for when it is written)."""

    def __init__(self, fd: int, flush_s: float = FLUSH_S):
        super().__init__()
        self.stream = io.BufferedWriter(io.FileIO(fd, "w", closefd=False), buffer_size=_BUFFER_BYTES)
        self._queued: collections.deque[tuple] = collections.deque()  # emit_info's lines, not yet formatted
        self._flush_s = flush_s
        # Not "serving-...": __main__._exit waits for no thread of this name (it flushes through logging.shutdown).
        threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:  # called under self.lock (logging.Handler.handle)
        try:
            self._write_queued()  # lines come out in the order they were logged
            self.stream.write(self.format(record).encode() + b"\n")
            if record.levelno >= logging.WARNING:
                self.stream.flush()
        except Exception:
            self.handleError(record)

    def emit_info(self, logger: str, msg: str, fields: Mapping[str, Any]) -> None:
        """One INFO line without a LogRecord (info_line): queued with its time and request id, and formatted when the
        buffer is next written to (another line, or a flush). Formatted in a batch, the formatter's code and data stay
        in the CPU's caches: about 4 µs a line, against 12 µs for one formatted between a request's other work
        (benchmarks/README.md, "What metrics and the request-id access log cost")."""
        self._queued.append((time.time(), request_id.current.get(), logger, msg, fields))

    def _write_queued(self) -> None:  # under self.lock
        queued = self._queued
        while queued:
            created, rid, logger, msg, fields = queued.popleft()
            try:
                doc = self.formatter.line(created, "info", logger, msg, fields, rid)  # type: ignore[union-attr]
                self.stream.write(orjson.dumps(doc, default=str) + b"\n")
            except Exception:
                self.handleError(logging.makeLogRecord({"name": logger, "msg": msg, "levelno": logging.INFO}))

    def flush(self) -> None:
        with self.lock:
            try:
                self._write_queued()
                self.stream.flush()
            except (OSError, ValueError):  # the descriptor is gone (closed pipe) or the handler closed
                pass

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(self._flush_s)
            self.flush()


_configured: BufferedLineHandler | None = None  # the handler configure() installed: info_line writes to it


def configure(level: str) -> None:
    global _configured
    sys.stderr.flush()
    handler = BufferedLineHandler(sys.stderr.fileno())
    handler.setFormatter(JsonFormatter())
    _configured = handler
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
