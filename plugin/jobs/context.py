"""Which runtime a job runs in.

A job receives ids only, so it finds its database and queue here: the queue that runs it
(inline, the in-process thread) or ``fenxiao worker`` sets the runtime around the work with
``using``; a job picked up by a plain ``rq worker`` (started without ``fenxiao``) builds one
from the environment, once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugin.runtime import Runtime

_runtime: ContextVar[Runtime | None] = ContextVar("fenxiao_runtime", default=None)


@contextmanager
def using(rt: Runtime) -> Iterator[Runtime]:
    """Run the jobs called inside this block in ``rt``."""
    token = _runtime.set(rt)
    try:
        yield rt
    finally:
        _runtime.reset(token)


def runtime() -> Runtime:
    """The runtime of the job being run."""
    return _runtime.get() or _from_environment()


@functools.cache
def _from_environment() -> Runtime:
    from plugin.config import Config
    from plugin.runtime import build

    return build(Config.from_env())
