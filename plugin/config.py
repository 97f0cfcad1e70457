"""Configuration from the environment. The embedded default needs none of it."""

from __future__ import annotations

import os
import secrets
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
    # Signs the workbench's session cookies; ``secret_key`` reads or makes a key file when unset.
    secret_key: str | None = None
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
            secret_key=os.environ.get("FENXIAO_SECRET_KEY") or None,
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


SECRET_KEY_FILE = "fenxiao-secret.key"  # noqa: S105 - a file name, not a secret


def secret_key(config: Config) -> str:
    """The key that signs session cookies: ``FENXIAO_SECRET_KEY``, else ``fenxiao-secret.key``.

    The embedded default needs no setting: the first start writes a random key to the file
    (mode 0600, in the working directory, beside the SQLite file) and every later start and
    every gunicorn worker reads the same one, so logins survive restarts. In production set
    ``FENXIAO_SECRET_KEY`` so all machines share one key.
    """
    if config.secret_key:
        return config.secret_key
    if config.testing:
        return "testing-only-secret-key"
    try:
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(SECRET_KEY_FILE) as existing:
            return existing.read().strip()
    with os.fdopen(fd, "w") as new:
        new.write(secrets.token_urlsafe(48))
    with open(SECRET_KEY_FILE) as written:
        return written.read().strip()
