"""Ids handed out before the INSERT (plugin.keys): never the same twice, whether a row took
its id from ``new_ids`` or from the flush, within a transaction and across transactions."""

from __future__ import annotations

from sqlalchemy import select

from plugin import keys
from plugin.ledger.models import LedgerTransaction


def txn(shop_id: int, key: str, txn_id: int | None = None) -> LedgerTransaction:
    return LedgerTransaction(id=txn_id, shop_id=shop_id, key=key, kind="test")


def test_ids_taken_early_and_rows_numbered_at_flush_never_collide(database, shop):
    with database.transaction() as session:
        session.add(txn(shop.id, "before"))
        session.flush()
        taken = keys.new_ids(session, LedgerTransaction, 3)
        late = [txn(shop.id, f"late{n}") for n in range(2)]
        session.add_all(late)  # made after the ids were taken, written before the rows holding them
        session.flush()
        session.add_all(txn(shop.id, f"early{n}", txn_id) for n, txn_id in enumerate(taken))
    assert taken == sorted(taken) and len(set(taken)) == 3
    with database.transaction() as session:
        after = keys.new_ids(session, LedgerTransaction, 1)[0]
        rows = dict(session.execute(select(LedgerTransaction.key, LedgerTransaction.id)).all())
    assert len(set(rows.values())) == 6
    assert rows["before"] < taken[0]
    # the rows numbered at flush were made in order, and after every id taken before them
    assert taken[-1] < rows["late0"] < rows["late1"]
    assert [row.id for row in late] == [rows["late0"], rows["late1"]]
    assert after > max(rows.values())  # a later transaction starts past every committed row


def test_a_rolled_back_transaction_leaves_no_row_and_the_next_one_numbers_on(database, shop):
    try:
        with database.transaction() as session:
            first = keys.new_ids(session, LedgerTransaction, 2)
            session.add(txn(shop.id, "lost"))
            session.flush()
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    with database.transaction() as session:
        kept = txn(shop.id, "kept")
        session.add(kept)
        session.flush()
        assert session.scalars(select(LedgerTransaction.key)).all() == ["kept"]
        # PostgreSQL's sequence never goes back; SQLite numbers from what is really stored
        if database.dialect == "postgresql":
            assert kept.id > max(first)


def test_ids_handed_out_before_a_rolled_back_savepoint_are_not_handed_out_again(database, shop):
    with database.transaction() as session:
        held = keys.new_ids(session, LedgerTransaction, 2)  # their rows are not written yet
        try:
            with session.begin_nested():
                session.add(txn(shop.id, "inside"))
                session.flush()
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        later = keys.new_ids(session, LedgerTransaction, 1)
        session.add_all(txn(shop.id, f"held{n}", txn_id) for n, txn_id in enumerate(held + later))
    assert later[0] > max(held)
    with database.read() as session:
        assert sorted(session.scalars(select(LedgerTransaction.id))) == sorted(held + later)
