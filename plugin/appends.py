"""Append-only rows (ledger transactions and entries, audit events) written with Core: a
transaction collects them as plain dicts and writes each table with one ``INSERT`` (an
``executemany``) when it commits, so a batch of paid orders builds no ORM object for them.

Nothing in a transaction reads these rows back except through the module that owns them
(``ledger.journal``, ``audit.trail``), which calls ``write`` before any read. ``write`` also
runs before a savepoint opens (``savepoint``), so a savepoint's rollback drops only what was
appended inside it; a rollback of the whole transaction drops everything.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from plugin.db import Base

APPENDED = "fenxiao.appended"


def append(session: Session, model: type, row: dict) -> None:
    """Queue ``row`` for ``model``'s table; written by ``write``, at the latest at commit."""
    session.info.setdefault(APPENDED, {}).setdefault(model.__table__, []).append(row)


def write(session: Session) -> None:
    """Write every queued row now: one ``INSERT`` per table, parents before children."""
    queued = session.info.pop(APPENDED, None)
    if not queued:
        return
    connection = session.connection()
    for table in Base.metadata.sorted_tables:
        if rows := queued.get(table):
            connection.execute(table.insert(), rows)


@contextmanager
def savepoint(session: Session):
    """``session.begin_nested()``, after writing what was queued before it."""
    write(session)
    with session.begin_nested() as nested:
        yield nested


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        write(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, _previous) -> None:
    session.info.pop(APPENDED, None)  # a savepoint's own rows, or the whole transaction's


@event.listens_for(Session, "after_transaction_create")
def _nothing_queued_at_a_savepoint(session: Session, transaction) -> None:
    if transaction.nested and session.info.get(APPENDED):
        raise RuntimeError("rows were queued before a savepoint: open it with appends.savepoint")
