"""Calls the program makes to a service itself: not a resource, not a provider's invoke, and so not seen by mocks.

One such call exists: ACR's token exchange for the image push (components/azure/registry.py says why it is not a
resource). A component makes it through :func:`call` with the call's name and its real implementation; under the
offline harness (lepton_infra.testing) the same name is answered by the provider's mock module instead, because the
harness sets the answers for its run (a context variable, so concurrent runs do not see each other's). No component
asks whether it runs under mocks, and the real engine always makes the real call.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

Answer = Callable[[str, tuple[Any, ...]], Any]  # (call name, arguments) -> what the service would return

_offline_answer: contextvars.ContextVar[Answer | None] = contextvars.ContextVar("lepton_outbound_answer", default=None)


def call(name: str, real: Callable[..., Any], *args: Any) -> Any:
    """``real(*args)``; in an offline run, the harness's answer to ``name`` with the same arguments."""
    answer = _offline_answer.get()
    return real(*args) if answer is None else answer(name, args)


@contextlib.contextmanager
def answered_by(answer: Answer) -> Iterator[None]:
    """Within this block (and the tasks started in it), :func:`call` asks ``answer`` instead of the service."""
    token = _offline_answer.set(answer)
    try:
        yield
    finally:
        _offline_answer.reset(token)
