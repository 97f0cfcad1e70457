"""Configuration from the environment. The embedded default needs none of it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Config:
    """Settings of one process (web or worker).

    ``jobs`` picks how work runs: ``rq`` (Redis + ``fenxiao worker``; the default when
    ``REDIS_URL`` is set), ``thread`` (in-process background thread: the embedded default) or
    ``inline`` (run at once in the caller: tests and the demo).
    """

    database_url: str = "sqlite:///fenxiao.sqlite3"
    redis_url: str | None = None
    jobs: str = "thread"
    max_body_bytes: int = 1024 * 1024
    sweep_seconds: int = 30
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Config:
        redis_url = os.environ.get("REDIS_URL") or None
        values = dict(
            database_url=os.environ.get("DATABASE_URL", cls.database_url),
            redis_url=redis_url,
            jobs=os.environ.get("FENXIAO_JOBS", "rq" if redis_url else "thread"),
            max_body_bytes=int(os.environ.get("FENXIAO_MAX_BODY_BYTES", cls.max_body_bytes)),
            sweep_seconds=int(os.environ.get("FENXIAO_SWEEP_SECONDS", cls.sweep_seconds)),
        )
        values.update(overrides)
        if values["jobs"] not in ("rq", "thread", "inline"):
            raise ValueError(f"FENXIAO_JOBS must be rq, thread or inline, not {values['jobs']!r}")
        if values["jobs"] == "rq" and not values["redis_url"]:
            raise ValueError("FENXIAO_JOBS=rq needs REDIS_URL")
        return cls(**values)
