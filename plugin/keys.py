"""Primary keys handed out before the ``INSERT``, so a batch writes its rows in bulk.

A commission's id names its ledger posting (``accrue:<id>``) and its audit event; with the id
known when the commission is made, a batch of paid orders builds every commission, posting,
entry and audit row in memory and writes each table with one ``INSERT`` at commit, instead of
flushing each order to learn its ids.

* PostgreSQL: ids come from the table's own sequence (``nextval``), a chunk at a time per
  transaction (at least ``CHUNK``); what a transaction leaves unused is a gap, as a rollback
  leaves one anyway. One query per chunk.
* SQLite: a writing transaction holds the database's only write lock from its ``BEGIN
  IMMEDIATE``, so the next ids are ``max(id) + 1`` onwards, read once per transaction and
  counted on from there. Every new row of a numbered table must then take its id here, or
  SQLite's own numbering would hand out the same one: ``before_flush`` numbers any row that has
  none (which also lets the ORM insert them with one ``executemany``; it inserts rows one by
  one on SQLite when it must read their ids back). A numbered table written with Core (the
  ledger's transactions, ``plugin.appends``) takes every id from ``new_ids`` too.

Ids keep growing in the order rows are made within a transaction; across concurrent
PostgreSQL transactions, as with any sequence, they follow no commit order.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.orm import Session

from plugin import db

CHUNK = 128
NUMBERED: set[type] = set()


def numbered(model: type) -> type:
    """Class decorator: ``model``'s ids are handed out here (see the module's docstring)."""
    NUMBERED.add(model)
    return model


def new_ids(session: Session, model: type, count: int) -> list[int]:
    """``count`` fresh primary keys for new rows of ``model`` (a ``numbered`` model)."""
    if count <= 0:
        return []
    table = model.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        pool = db.memo(session, "id_pool").setdefault(table.name, [])
        if len(pool) < count:
            fetched = connection.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": max(count - len(pool), CHUNK)},
            )
            pool.extend(sorted(fetched))
        taken, pool[:count] = pool[:count], []
        return taken
    # The highest id this session handed out per table. It outlives the memo, which a savepoint's
    # rollback empties while rows holding earlier ids may still be waiting to be written; the
    # memo only says whether this transaction has read what is stored.
    highest = session.info.setdefault("fenxiao.highest_id", {})
    read = db.memo(session, "ids_read")
    if table.name not in read:
        read[table.name] = True
        stored = connection.scalar(select(func.max(table.c.id))) or 0
        highest[table.name] = max(stored, highest.get(table.name, 0))
    first = highest[table.name] + 1
    highest[table.name] += count
    return list(range(first, first + count))


@event.listens_for(Session, "before_flush")
def _number_new_rows(session: Session, _context, _instances) -> None:
    if session.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL returns the ids of a multi-row INSERT: the ORM batches it anyway
    unnumbered = defaultdict(list)
    for row in session.new:
        if type(row) in NUMBERED and row.id is None:
            unnumbered[type(row)].append(row)
    for model, rows in unnumbered.items():
        rows.sort(key=lambda row: inspect(row).insert_order)
        for row, row_id in zip(rows, new_ids(session, model, len(rows)), strict=True):
            row.id = row_id
