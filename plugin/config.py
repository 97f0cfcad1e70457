"""Configuration from the environment. The embedded default needs none of it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from plugin.errors import InvalidConfig


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
        """Settings from the environment, then ``overrides``.

        Raises:
            InvalidConfig: a setting that cannot work, named in the message.
        """
        redis_url = os.environ.get("REDIS_URL") or None
        values = dict(
            database_url=os.environ.get("DATABASE_URL") or cls.database_url,
            redis_url=redis_url,
            jobs=os.environ.get("FENXIAO_JOBS") or ("rq" if redis_url else "thread"),
            max_body_bytes=_positive_int("FENXIAO_MAX_BODY_BYTES", cls.max_body_bytes),
            sweep_seconds=_positive_int("FENXIAO_SWEEP_SECONDS", cls.sweep_seconds),
        )
        values.update(overrides)
        if values["jobs"] not in ("rq", "thread", "inline"):
            raise InvalidConfig(f"FENXIAO_JOBS must be rq, thread or inline, not {values['jobs']!r}")
        if values["jobs"] == "rq" and not values["redis_url"]:
            raise InvalidConfig(
                "RQ workers need REDIS_URL (e.g. redis://localhost:6379/0); "
                "the embedded default runs jobs in-process without Redis"
            )
        return cls(**values)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidConfig(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise InvalidConfig(f"{name} must be positive, not {value}")
    return value
