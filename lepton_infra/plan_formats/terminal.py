"""Colour and a progress line on a terminal only: plain text when piped or redirected, and when ``NO_COLOR`` is set
to anything but the empty string (https://no-color.org), or ``TERM=dumb``."""

from __future__ import annotations

import contextlib
import os
from typing import IO, Iterator

CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def wants_color(stream: IO[str]) -> bool:
    return _is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """``style.bold(text)`` and friends: ANSI SGR codes when ``color``, the text unchanged otherwise."""

    def __init__(self, color: bool):
        self.color = color

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color and text else text

    def __getattr__(self, name: str):
        if name not in CODES:
            raise AttributeError(name)
        return lambda text: self._paint(CODES[name], text)


PLAIN = Style(False)


@contextlib.contextmanager
def progress(stream: IO[str], message: str) -> Iterator[None]:
    """``message…`` on ``stream`` while the block runs, erased after it; nothing at all when not a terminal."""
    shown = _is_terminal(stream)
    if shown:
        stream.write(f"{message}…")
        stream.flush()
    try:
        yield
    finally:
        if shown:
            stream.write("\r\033[K")
            stream.flush()
