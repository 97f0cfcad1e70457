"""The settlement sweep: each due commission once, in pages, whoever else is sweeping."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from plugin.commissions import settlement
from plugin.commissions.models import Commission
from plugin.ledger import journal
from plugin.ledger.models import LedgerTransaction
from plugin.members.directory import make_distributor, member_for_identity
from plugin.shops.models import Shop
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))
PAID = datetime(2026, 11, 5, 12, tzinfo=CST)
LATER = datetime(2026, 12, 31, tzinfo=CST)


def completed_orders(make_shop, database, send, amounts):
    """One completed order per amount (depth 1, 10 %), all due by LATER."""
    shop = make_shop(tier_depth=1, after_sales_days=0)
    with database.transaction() as session:
        x = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
    for n, amount in enumerate(amounts):
        fulfilled = so.order(n + 1, PAID, [amount], customer=100 + n, fulfillment_status="fulfilled")
        assert send(shop, "orders/fulfilled", fulfilled).status_code == 200
    return shop, x.id


def test_a_commission_already_settled_by_another_sweep_is_not_settled_again(make_shop, database, send):
    shop, x = completed_orders(make_shop, database, send, [10000])
    with database.transaction() as session:
        commission_id = session.scalar(select(Commission.id))
    assert settlement.settle_one(database, commission_id) is True
    assert settlement.settle_one(database, commission_id) is False  # read before the first settled it
    with database.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "settle")
            )
            == 1
        )
        assert journal.member_balances(session, shop.id, x, "CNY")["available"] == 1000


def test_the_sweep_pages_through_everything_due_and_reports_progress(make_shop, database, send):
    shop, x = completed_orders(make_shop, database, send, [10000, 20000, 30000, 40000, 10])
    steps = []
    assert settlement.count_due(database, LATER) == 5
    assert settlement.settle_due(database, LATER, batch=2, progress=steps.append) == 5
    assert steps == [1, 1, 1, 1, 1]
    assert settlement.count_due(database, LATER) == 0
    with database.transaction() as session:
        assert (
            journal.member_balances(session, shop.id, x, "CNY")["available"] == 1000 + 2000 + 3000 + 4000 + 1
        )


def test_a_refund_after_settlement_claws_back_from_available(make_shop, database, send):
    shop, x = completed_orders(make_shop, database, send, [10000, 20000])
    assert settlement.settle_due(database, LATER) == 2
    assert send(shop, "refunds/create", so.refund(1, 91, {0: 4000}, LATER)).status_code == 200
    with database.transaction() as session:
        assert journal.member_balances(session, shop.id, x, "CNY") == {
            "pending": 0,
            "available": 3000 - 400,
            "withdrawing": 0,
            "paid": 0,
            "arrears": 0,
        }
        clawback = session.scalar(select(LedgerTransaction).where(LedgerTransaction.kind == "clawback"))
        assert sorted(entry.amount for entry in clawback.entries) == [-400, 400]


def test_a_refund_arriving_while_its_commission_settles_waits_and_claws_back(make_shop, database, send):
    """The refund locks the commissions it reverses: it waits for a settlement in progress, then
    claws back from available instead of cancelling from a pending the settlement just emptied."""
    shop, x = completed_orders(make_shop, database, send, [10000])
    settling, release, replies = threading.Event(), threading.Event(), []

    def settle():
        with database.transaction() as session:
            commission = session.scalar(select(Commission).with_for_update())
            settlement.settle(session, session.get(Shop, shop.id), commission)
            settling.set()
            release.wait(10)  # committed only once the refund has started

    def refund():
        replies.append(send(shop, "refunds/create", so.refund(1, 91, {0: 4000}, LATER)).status_code)

    settler = threading.Thread(target=settle)
    settler.start()
    assert settling.wait(10)
    refunder = threading.Thread(target=refund)
    refunder.start()
    refunder.join(1)
    waited = refunder.is_alive()
    release.set()
    settler.join(10)
    refunder.join(10)
    assert waited, "the refund did not wait for the settlement in progress"
    assert replies == [200]
    with database.transaction() as session:
        balances = journal.member_balances(session, shop.id, x, "CNY")
        assert (balances["pending"], balances["available"], balances["arrears"]) == (0, 600, 0)
        commission = session.scalar(select(Commission))
        assert (commission.status, commission.reversed) == ("available", 400)


def test_a_run_for_one_shop_settles_only_that_shops_commissions(make_shop, database, send):
    shop, x = completed_orders(make_shop, database, send, [10000, 20000])
    other, y = completed_orders(make_shop, database, send, [30000])
    assert settlement.count_due(database, LATER, shop_id=shop.id) == 2
    assert settlement.count_due(database, LATER, shop_id=other.id) == 1
    assert settlement.settle_due(database, LATER, shop_id=shop.id) == 2
    with database.transaction() as session:
        statuses = session.scalars(select(Commission.status).where(Commission.shop_id == other.id)).all()
        assert statuses == ["pending"]
        assert journal.member_balances(session, other.id, y, "CNY")["available"] == 0
        assert journal.member_balances(session, shop.id, x, "CNY")["available"] == 1000 + 2000
    assert settlement.count_due(database, LATER, shop_id=shop.id) == 0
    assert settlement.settle_due(database, LATER, shop_id=shop.id) == 0
    assert settlement.settle_due(database, LATER) == 1  # no shop given: every shop, as the sweep runs
    assert settlement.count_due(database, LATER) == 0
