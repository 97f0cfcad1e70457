"""Jobs are safe to run twice at once: row locks and unique keys, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from adapters.registry import get_adapter
from plugin.cli.demo import seed_chain
from plugin.commissions import settlement
from plugin.commissions.models import Commission
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import LedgerTransaction
from tests.conftest import fixture_bytes, shopify_headers

DELIVERIES = [
    ("orders/paid", "orders_paid"),
    ("orders/paid", "orders_paid"),
    ("orders/fulfilled", "orders_fulfilled"),
    ("refunds/create", "refunds_create"),
]


def store_without_processing(database, shop) -> list[int]:
    """Store each delivery as intake would, unprocessed. The paid order comes twice, under two
    delivery ids and in different bytes (the same body again would be the same delivery)."""
    adapter, ids = get_adapter("shopify"), []
    with database.transaction() as session:
        for n, (topic, name) in enumerate(DELIVERIES):
            body = fixture_bytes("shopify", name) + b" " * n
            headers = shopify_headers(topic, body, shop.secret)
            ids.append(
                mailbox.store(session, shop.id, "shopify", adapter.describe(headers, body), headers, body)
            )
    return ids


def run_all_at_once(func, args, times=3):
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(func, [a for a in args for _ in range(times)]))


def test_processing_every_event_three_times_at_once_counts_each_once(database, shop):
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    ids = store_without_processing(database, shop)
    results = run_all_at_once(lambda event_id: mailbox.process(database, event_id), ids)
    assert set(results) == {"processed"}
    with database.transaction() as session:
        assert [e.status for e in session.scalars(select(InboxEvent).order_by(InboxEvent.id))] == [
            "processed"
        ] * 4
        assert sorted((c.tier, c.amount, c.reversed) for c in session.scalars(select(Commission))) == [
            (1, 1000, 0),
            (1, 2980, 1490),
            (2, 500, 0),
            (2, 1490, 745),
        ]
        assert journal.unbalanced_transactions(session) == []
        assert journal.member_balances(session, shop.id, chain["D"], "CNY")["pending"] == 2490


def test_two_settlement_sweeps_at_once_settle_each_commission_once(database, shop):
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    for event_id in store_without_processing(database, shop):
        mailbox.process(database, event_id)
    moment = datetime.fromisoformat("2026-11-21T00:00:00+00:00")
    settled = run_all_at_once(lambda _: settlement.settle_due(database, moment, batch=1), range(2), times=2)
    assert sum(settled) == 4
    with database.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "settle")
            )
            == 4
        )
        assert journal.member_balances(session, shop.id, chain["D"], "CNY")["available"] == 2490
