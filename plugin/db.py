"""Database plumbing: the declarative base, column types, engine and session factory."""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Engine, Integer, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from plugin.errors import InvalidConfig

# 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
BigID = BigInteger().with_variant(Integer, "sqlite")
# The largest values the columns hold: anything beyond never reaches a query (404 or 422).
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, always hands back an aware UTC datetime (SQLite drops offsets)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


READ_ONLY = "fenxiao_read_only"


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web thread read while the in-process job thread writes; the busy
    # timeout makes a second writer wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}  # each with on_conflict_do_nothing


def insert_new(session, model):
    """``INSERT`` for ``model`` in the session's dialect, to be ended with ``.on_conflict_do_nothing()``:
    a row that a unique key already holds is left as it is (the first writer wins, no error)."""
    return INSERTS[session.get_bind().dialect.name](model)


@functools.cache
def insert_new_returning(dialect: str, column, conflict: tuple[str, ...] | None = None):
    """``INSERT … ON CONFLICT DO NOTHING RETURNING column`` into ``column``'s table, built once per
    dialect (and conflict target): its values are bound at execution, so a hot path spends no
    time building or keying the statement. Returns nothing for a row a unique key holds already."""
    return INSERTS[dialect](column.table).on_conflict_do_nothing(index_elements=conflict).returning(column)


MEMO = "fenxiao.memo"


def memo(session: Session, name: str) -> dict:
    """A dictionary that lives as long as the session's current transaction.

    Domain lookups keep the rows this transaction has read, locked or created in it (orders
    locked ``FOR UPDATE``, members by platform identity, bindings, month tallies, accounts), so
    a batch can load them with a few ``IN`` queries up front and every later lookup is a hit.
    It is emptied when the transaction commits or anything rolls back (a savepoint included):
    a lock or a row created in it may be gone then.
    """
    return session.info.setdefault(MEMO, {}).setdefault(name, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session, *_args) -> None:
    session.info.pop(MEMO, None)


def advisory_lock(session, namespace: str, key: int) -> None:
    """Hold a PostgreSQL transaction-scoped advisory lock on ``(namespace, key)`` until commit.

    SQLite needs none: its writers are serialized at BEGIN IMMEDIATE.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:ns), :key)"), {"ns": namespace, "key": key}
        )


class Database:
    """An engine plus a session factory: fenxiao's own for a URL, or on a host app's engine.

    ``Database(url)`` makes and owns an engine (SQLite: WAL, a busy timeout, foreign keys, the
    write lock taken at ``BEGIN``). ``Database.from_engine(engine)`` works on an engine a host
    application already has (see there).
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None):
        if (url is None) == (engine is None):
            raise TypeError("Database takes a URL or an engine, not both")
        if engine is None:
            self.url = url
            self._owns_engine = True
            self.engine = _own_engine(url)
        else:
            if engine.dialect.name not in ("sqlite", "postgresql"):
                raise InvalidConfig(f"fenxiao runs on SQLite or PostgreSQL, not {engine.dialect.name}")
            self.url = engine.url.render_as_string(hide_password=False)
            self._owns_engine = False
            # A view of the host's engine: the same pool, with fenxiao's listeners on it alone.
            self.engine = engine.execution_options()
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time and its busy handler waits by sleeping and polling,
        # which gives waiting threads long, unfair tails. Inside one process (the embedded
        # default: web threads plus the job thread) a lock hands the database over at once.
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else nullcontext()

    @classmethod
    def from_engine(cls, engine: Engine) -> Database:
        """fenxiao's database on a host application's SQLAlchemy engine (SQLite or PostgreSQL).

        fenxiao shares the engine's pool and leaves its connections as the host set them up: on
        SQLite only fenxiao's own transactions take the write lock at ``BEGIN`` (``BEGIN
        IMMEDIATE``, through a listener on a view of the engine, not on the engine), and no
        ``PRAGMA`` is changed, so WAL, foreign keys and the busy timeout are the host's to choose.
        ``dispose`` leaves the engine alone: it is the host's. An in-memory SQLite engine cannot
        be migrated (``fenxiao db upgrade`` connects by the engine's URL).

        Raises:
            InvalidConfig: the engine is not SQLite or PostgreSQL.
        """
        return cls(engine=engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self):
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._writer, self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self):
        """A session for reading only: it takes no write lock (SQLite) and writes nothing.

        For work that must not queue behind writers, such as checking a webhook's signature
        before anything is stored.
        """
        with self._readers() as session:  # closing rolls the transaction back
            yield session

    def dispose(self):
        """Close the pool's connections (of an engine fenxiao made; a host's engine is left alone)."""
        if self._owns_engine:
            self.engine.dispose()


def _own_engine(url: str) -> Engine:
    kwargs = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        # No pre-ping: it would cost every acknowledgement a round trip. A connection a
        # database restart broke fails its one request (the platform retries) and SQLAlchemy
        # then replaces the pool's connections; recycling bounds a connection's age.
        kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock at BEGIN so two writers queue up instead of deadlocking
        # on a read-then-write upgrade; a read-only transaction (``read``) takes none.
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "connect", lambda dbapi_conn, _rec: setattr(dbapi_conn, "isolation_level", None))
    return engine
