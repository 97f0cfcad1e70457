"""Ledger postings and audit events are queued and written in bulk (plugin.appends): reads in
the same transaction see them, a savepoint's rollback drops only its own, a rollback drops all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin import appends
from plugin.audit import trail
from plugin.audit.models import AuditEvent
from plugin.ledger import journal
from plugin.ledger.models import AccountKind, LedgerEntry, LedgerTransaction


def post(session, shop_id, key, amount=100):
    pending = journal.account(session, shop_id, 7, AccountKind.PENDING, "CNY")
    expense = journal.shop_account(session, shop_id, AccountKind.COMMISSION_EXPENSE, "CNY")
    return journal.post(
        session, shop_id, key, "accrue", [journal.debit(expense, amount), journal.credit(pending, amount)]
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_queued_posting_is_read_back_and_posted_once(database, shop):
    with database.transaction() as session:
        first = post(session, shop.id, "k1")
        assert count(session, LedgerTransaction) == 0  # queued, not written yet
        pending = journal.account(session, shop.id, 7, AccountKind.PENDING, "CNY")
        assert journal.balance(session, pending) == 100  # a ledger read writes the queue first
        assert post(session, shop.id, "k1") is None  # the same key again: seen
        assert post(session, shop.id, "k2", 5) > first
    with database.read() as session:
        assert count(session, LedgerTransaction) == 2 and count(session, LedgerEntry) == 4
        assert journal.unbalanced_transactions(session) == []


def test_a_savepoint_rollback_drops_only_what_was_queued_inside_it(database, shop):
    with database.transaction() as session:
        trail.record(session, shop.id, "test.kept", "shop", shop.id)
        with pytest.raises(RuntimeError), appends.savepoint(session):
            trail.record(session, shop.id, "test.dropped", "shop", shop.id)
            raise RuntimeError("inside")
        trail.record(session, shop.id, "test.after", "shop", shop.id)
    with database.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("test.%")).order_by(AuditEvent.id)
        )
        assert list(actions) == ["test.kept", "test.after"]


def test_a_rolled_back_transaction_writes_nothing_it_queued(database, shop):
    with pytest.raises(RuntimeError), database.transaction() as session:
        post(session, shop.id, "lost")
        trail.record(session, shop.id, "test.lost", "shop", shop.id)
        raise RuntimeError("stop")
    with database.transaction() as session:
        trail.record(session, shop.id, "test.next", "shop", shop.id)
    with database.read() as session:
        assert count(session, LedgerTransaction) == 0
        assert list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("test.%")))) == [
            "test.next"
        ]


def test_a_savepoint_opened_over_queued_rows_is_refused(database, shop):
    with pytest.raises(RuntimeError, match="appends.savepoint"), database.transaction() as session:
        trail.record(session, shop.id, "test.queued", "shop", shop.id)
        session.begin_nested()
