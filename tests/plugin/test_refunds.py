"""Refunds take commission back in proportion to the merchandise money really returned, whatever
shape the refund has: named lines, an amount only, shipping only, less than the lines' subtotal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from plugin.commissions.models import Commission, MonthTally
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order, OrderLine
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))
PAID_AT = datetime(2026, 11, 5, 12, tzinfo=CST)
REFUND_AT = datetime(2026, 11, 6, 12, tzinfo=CST)
SHIPPING = {
    "refund_shipping_lines": [
        {"subtotal_amount_set": {"shop_money": {"amount": "10.00", "currency_code": "CNY"}}}
    ]
}


@pytest.fixture
def order_with_commission(make_shop, database, send):
    """Default rules at depth 1: X earns 10 % of an order of 29800 + 10000 (2980 + 1000)."""
    shop = make_shop(tier_depth=1)
    with database.transaction() as session:
        x = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
    assert send(shop, "orders/paid", so.order(1, PAID_AT, [29800, 10000])).status_code == 200
    return shop


def reversed_per_line(database, shop) -> tuple[list[int], list[int]]:
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id))
        rows = dict(
            session.execute(
                select(OrderLine.id, Commission.reversed).join(
                    Commission, Commission.order_line_id == OrderLine.id
                )
            ).all()
        )
        return [rows[line.id] for line in order.lines], [line.refunded_amount for line in order.lines]


@pytest.mark.parametrize(
    ("amounts", "returned", "extra", "reversed_", "refunded"),
    [
        # 20 % of the order back, no lines named: 7960 spread 29800 : 10000 -> 5960 + 2000
        ({}, 7960, {}, [596, 200], [5960, 2000]),
        # shipping only: nothing of the merchandise came back
        ({}, 1000, SHIPPING, [0, 0], [0, 0]),
        # ten fen of the tee back: one fen of its commission, the smallest reversal there is
        ({0: 10}, 10, {}, [1, 0], [10, 0]),
        # the tee refunded for 149.00 of its 298.00 subtotal
        ({0: 29800}, 14900, {}, [1490, 0], [14900, 0]),
        # the cap line back plus shipping: the line, no more
        ({1: 10000}, 11000, SHIPPING, [0, 1000], [0, 10000]),
        # a restock with no money back
        ({0: 29800}, 0, {}, [0, 0], [0, 0]),
    ],
    ids=["amount-only", "shipping-only", "one-fen", "less-than-subtotal", "line-and-shipping", "no-money"],
)
def test_commission_is_taken_back_in_proportion_to_the_merchandise_returned(
    order_with_commission, database, send, amounts, returned, extra, reversed_, refunded
):
    shop = order_with_commission
    refund = so.refund(1, 91, amounts, REFUND_AT, returned=returned, **extra)
    assert send(shop, "refunds/create", refund).status_code == 200
    assert reversed_per_line(database, shop) == (reversed_, refunded)


def test_amount_only_refunds_add_up_and_never_take_back_more_than_was_paid(
    order_with_commission, database, send
):
    shop = order_with_commission
    for number in range(3):  # 3 x 19900 = 59700, more than the order's 39800
        assert (
            send(shop, "refunds/create", so.refund(1, 91 + number, {}, REFUND_AT, returned=19900)).status_code
            == 200
        )
    assert reversed_per_line(database, shop) == ([2980, 1000], [29800, 10000])


def test_an_amount_only_refund_that_overtakes_the_order_is_spread_when_it_arrives(make_shop, database, send):
    shop = make_shop(tier_depth=1)
    with database.transaction() as session:
        x = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
    assert send(shop, "refunds/create", so.refund(1, 91, {}, REFUND_AT, returned=7960)).status_code == 200
    assert send(shop, "orders/paid", so.order(1, PAID_AT, [29800, 10000])).status_code == 200
    assert reversed_per_line(database, shop) == ([596, 200], [5960, 2000])


def test_refunds_of_the_same_line_add_up(order_with_commission, database, send):
    shop = order_with_commission
    send(shop, "refunds/create", so.refund(1, 91, {0: 10000}, REFUND_AT))
    send(shop, "refunds/create", so.refund(1, 92, {0: 5000}, REFUND_AT))
    assert reversed_per_line(database, shop) == ([1500, 0], [15000, 0])


def test_a_line_refunded_whole_does_not_stop_the_next_lines_refund(order_with_commission, database, send):
    shop = order_with_commission
    send(shop, "refunds/create", so.refund(1, 91, {0: 29800}, REFUND_AT))  # the tee's commission: cancelled
    send(shop, "refunds/create", so.refund(1, 92, {1: 5000}, REFUND_AT))
    assert reversed_per_line(database, shop) == ([2980, 500], [29800, 5000])


def test_one_refund_of_several_lines_takes_all_of_them_off_the_month(order_with_commission, database, send):
    shop = order_with_commission
    with database.transaction() as session:
        tally = session.scalar(select(MonthTally).where(MonthTally.shop_id == shop.id))
        assert (tally.month, tally.sales, tally.commission) == ("2026-11", 39800, 3980)
    send(shop, "refunds/create", so.refund(1, 91, {0: 29800, 1: 5000}, REFUND_AT))
    with database.transaction() as session:
        tally = session.scalar(select(MonthTally).where(MonthTally.shop_id == shop.id))
        assert (tally.sales, tally.commission) == (5000, 500)


def test_an_amount_only_refund_is_spread_over_its_own_order_only(order_with_commission, database, send):
    shop = order_with_commission
    assert send(shop, "orders/paid", so.order(2, PAID_AT, [50000], customer=5002)).status_code == 200
    send(shop, "refunds/create", so.refund(2, 92, {}, REFUND_AT, returned=25000))
    send(shop, "refunds/create", so.refund(1, 91, {}, REFUND_AT, returned=1))  # a single fen
    with database.transaction() as session:
        refunded = dict(session.execute(select(OrderLine.external_id, OrderLine.refunded_amount)).all())
    assert refunded == {str(so.line_id(1, 0)): 1, str(so.line_id(1, 1)): 0, str(so.line_id(2, 0)): 25000}
