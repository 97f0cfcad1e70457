"""The process's wiring: one database and one job queue, built from a ``Config``.

Jobs receive only ids, so a worker process (or the in-process job thread) finds its database
here. ``create_app`` and ``fenxiao worker`` call ``configure``; a job run by a plain
``rq worker`` configures itself from the environment on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.config import Config
from plugin.db import Database
from plugin.jobs.queues import InlineQueue, RQQueue, ThreadQueue


@dataclass
class Runtime:
    config: Config
    database: Database
    queue: InlineQueue | ThreadQueue | RQQueue


_current: Runtime | None = None


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_queue(config: Config):
    if config.jobs == "rq":
        return RQQueue(config.redis_url)
    if config.jobs == "thread":
        return ThreadQueue()
    return InlineQueue()


def configure(config: Config) -> Runtime:
    global _current
    if _current is not None:
        _current.queue.close()
        _current.database.dispose()
    _current = Runtime(config, Database(normalize_database_url(config.database_url)), build_queue(config))
    return _current


def current() -> Runtime:
    if _current is None:
        return configure(Config.from_env())
    return _current
