"""Which runtime a job runs in.

A job receives ids only, so it finds its database and queue through the runtime set around
it: the queue that runs it (inline, the in-process thread) or ``fenxiao worker`` wraps the
work in ``using``. ``plugin.runtime.for_job`` reads it (and builds one from the environment
for a plain ``rq worker``). This module imports nothing of the project, so the queues can use
it without leaning on the runtime that builds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_runtime: ContextVar[object | None] = ContextVar("fenxiao_runtime", default=None)


@contextmanager
def using(rt) -> Iterator[None]:
    """Run the jobs called inside this block in the runtime ``rt``."""
    token = _runtime.set(rt)
    try:
        yield
    finally:
        _runtime.reset(token)


def current():
    """The runtime set around the job being run, or None."""
    return _runtime.get()
