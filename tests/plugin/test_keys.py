"""Ids handed out before the INSERT (plugin.keys): never the same twice, whether a row took
its id from ``new_ids`` or from the flush, within a transaction and across transactions."""

from __future__ import annotations

from sqlalchemy import select

from plugin import keys
from plugin.audit import trail
from plugin.audit.models import AuditEvent


def test_ids_taken_early_and_rows_numbered_at_flush_never_collide(database, shop):
    with database.transaction() as session:
        trail.record(session, shop.id, "test.before", "shop", shop.id)
        session.flush()
        taken = keys.new_ids(session, AuditEvent, 3)
        late = [trail.record(session, shop.id, f"test.late{n}", "shop", shop.id) for n in range(2)]
        for n, event_id in enumerate(taken):
            session.add(
                AuditEvent(
                    id=event_id,
                    shop_id=shop.id,
                    actor="t",
                    action=f"test.early{n}",
                    subject_type="shop",
                    subject_id=str(shop.id),
                    data={},
                )
            )
    assert taken == sorted(taken) and len(set(taken)) == 3
    with database.transaction() as session:
        after = keys.new_ids(session, AuditEvent, 1)[0]
        rows = dict(
            session.execute(
                select(AuditEvent.action, AuditEvent.id).where(AuditEvent.action.like("test.%"))
            ).all()
        )
    assert len(set(rows.values())) == 6
    assert rows["test.before"] < taken[0]
    # the rows numbered at flush were made in order, and after every id taken before them
    assert taken[-1] < rows["test.late0"] < rows["test.late1"]
    assert {late[0].id, late[1].id} == {rows["test.late0"], rows["test.late1"]}
    assert after > max(rows.values())  # a later transaction starts past every committed row


def test_a_rolled_back_transaction_leaves_no_row_and_the_next_one_numbers_on(database, shop):
    try:
        with database.transaction() as session:
            first = keys.new_ids(session, AuditEvent, 2)
            trail.record(session, shop.id, "test.lost", "shop", shop.id)
            session.flush()
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    with database.transaction() as session:
        event = trail.record(session, shop.id, "test.kept", "shop", shop.id)
        session.flush()
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("test.%"))).all() == [
            "test.kept"
        ]
        assert event.id is not None
        # PostgreSQL's sequence never goes back; SQLite numbers from what is really stored
        if database.dialect == "postgresql":
            assert event.id > max(first)
