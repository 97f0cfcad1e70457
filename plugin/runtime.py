"""The wiring of one app or one worker: its settings, its database and its job queue.

Nothing here is process-global. ``create_app`` (or ``Fenxiao(app)`` in a host's own Flask app)
builds a runtime and keeps it on the app (``app.extensions["fenxiao"]``; request code reads it
with ``for_request``); ``fenxiao worker`` builds one and runs its jobs inside it, and the inline
and thread queues run theirs inside the runtime that owns them (``plugin.jobs.context``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import Engine

from plugin.config import Config
from plugin.db import Database
from plugin.jobs import context
from plugin.jobs.queues import InlineQueue, JobQueue, RQQueue, ThreadQueue
from plugin.shops.credentials import CredentialCache

EXTENSION = "fenxiao"


@dataclass
class Runtime:
    config: Config
    database: Database
    queue: JobQueue
    credentials: CredentialCache  # the shops' webhook secrets, for intake (per process)
    url_prefix: str = ""  # where the app mounts fenxiao's URLs ("" standalone, "/fenxiao" in a host)

    def close(self) -> None:
        """Stop the queue's background work and close the database's connections."""
        self.queue.close()
        self.database.dispose()


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_queue(config: Config) -> JobQueue:
    if config.jobs == "rq":
        return RQQueue(config.redis_url)
    if config.jobs == "thread":
        return ThreadQueue()
    return InlineQueue()


def build(config: Config, *, engine: Engine | None = None) -> Runtime:
    """A new runtime for ``config``; the inline and thread queues run their jobs in it.

    Args:
        config: settings.
        engine: a host application's SQLAlchemy engine to use instead of ``config.database_url``
            (``Database.from_engine``); the runtime's config then names that engine's URL, so a
            command or a worker started from it reaches the same database.
    """
    if engine is None:
        database = Database(normalize_database_url(config.database_url))
    else:
        database = Database.from_engine(engine)
        config = replace(config, database_url=database.url)
    rt = Runtime(config, database, build_queue(config), CredentialCache(database))
    rt.queue.runtime = rt
    return rt


def for_request() -> Runtime:
    """The runtime of the app handling the current request."""
    return current_app.extensions[EXTENSION]


def for_job() -> Runtime:
    """The runtime of the job being run (``jobs.context.using``); a job picked up by a plain
    ``rq worker`` (started without ``fenxiao``) gets one built from the environment, once."""
    return context.current() or _from_environment()


@functools.cache
def _from_environment() -> Runtime:
    return build(Config.from_env())
