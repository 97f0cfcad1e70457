"""The workbench's order list (filters, keyset pages, commission totals in one query), one order
in full, and a commission's explanation read as steps."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from plugin.commissions import explain
from plugin.commissions.models import Commission
from plugin.errors import NotFound
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders import queries
from plugin.orders.models import Order
from plugin.shops.models import Shop
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture
def orders(make_shop, database, send):
    """Y invites X (default rules, depth 2: 10 % and 5 %). Paid orders:

    1: 11-01 00:30 CST (October in UTC), a buyer of X, 100.00 (X 10.00, Y 5.00), 40.00 refunded
    2: 11-02, a buyer bound to nobody, 200.00 (no commission)
    3: 11-03, a buyer of Y, 300.00 (Y 30.00)
    4: 10-31 23:00 CST, the buyer of order 1, 50.00 (X 5.00, Y 2.50)
    5, 6, 7: 11-04 at the same second, unbound buyers, 10.00 each
    8: never paid (created only)
    """
    shop = make_shop()
    with database.transaction() as session:
        y = member_for_identity(session, shop.id, "shopify", "y")
        make_distributor(session, shop.id, y.id, invite_code="INV-Y")
        x = member_for_identity(session, shop.id, "shopify", "x")
        bind(session, shop.id, x.id, "INV-Y")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
        ids = {"x": x.id, "y": y.id}
    deliveries = [
        so.order(1, at(1, 0, 30), [10000], customer=5001, ref="INV-X"),
        so.order(2, at(2), [20000], customer=5002, ref=None),
        so.order(3, at(3), [30000], customer=5003, ref="INV-Y"),
        so.order(4, at(31, 23, month=10), [5000], customer=5001, ref="INV-X"),
        *(so.order(n, at(4), [1000], customer=5000 + n, ref=None) for n in (5, 6, 7)),
    ]
    for payload in deliveries:
        assert send(shop, "orders/paid", payload).status_code == 200
    unpaid = so.order(8, at(5), [1000], customer=5008, ref=None, financial_status="pending")
    assert send(shop, "orders/create", unpaid).status_code == 200
    assert send(shop, "refunds/create", so.refund(1, 91, {0: 4000}, at(6))).status_code == 200
    return shop, ids


def listing(database, shop_id, filters=None, **options) -> queries.OrderPage:
    with database.read() as session:
        return queries.list_orders(
            session, session.get(Shop, shop_id), filters or queries.OrderFilter(), **options
        )


def external_ids(page) -> list[str]:
    return [row.external_id for row in page.rows]


def test_paid_orders_newest_first_with_their_commission_net_of_refunds(orders, database):
    shop, _ = orders
    page = listing(database, shop.id)
    assert external_ids(page) == ["7", "6", "5", "3", "2", "1", "4"]  # 8 was never paid
    rows = {row.external_id: row for row in page.rows}
    # order 1: 1000 + 500, 40 % refunded: 400 + 200 reversed
    assert (rows["1"].paid_total, rows["1"].refunded_total, rows["1"].commission) == (10000, 4000, 900)
    assert (rows["1"].commissions, rows["3"].commission, rows["4"].commission) == (2, 3000, 750)
    assert (rows["2"].commission, rows["2"].commissions) == (0, 0)
    assert (page.next, page.previous) == (None, None)


def test_keyset_pages_are_exact_forward_and_back_even_within_one_second(orders, database):
    shop, _ = orders
    first = listing(database, shop.id, limit=2)
    second = listing(database, shop.id, after=first.next, limit=2)
    third = listing(database, shop.id, after=second.next, limit=2)
    fourth = listing(database, shop.id, after=third.next, limit=2)
    assert [external_ids(p) for p in (first, second, third, fourth)] == [
        ["7", "6"],
        ["5", "3"],
        ["2", "1"],
        ["4"],
    ]
    assert (first.previous, fourth.next) == (None, None)
    back = listing(database, shop.id, before=fourth.previous, limit=2)
    assert external_ids(back) == ["2", "1"]
    back = listing(database, shop.id, before=back.previous, limit=2)
    assert external_ids(back) == ["5", "3"]
    top = listing(database, shop.id, before=back.previous, limit=2)
    assert external_ids(top) == ["7", "6"] and top.previous is None and top.next is not None


def test_a_cursor_survives_its_token_and_a_bad_token_names_its_field(orders, database):
    shop, _ = orders
    cursor = listing(database, shop.id, limit=3).next
    assert queries.Cursor.parse(cursor.token()) == cursor
    with pytest.raises(queries.InvalidFilter) as caught:
        queries.Cursor.parse("yesterday_1", "before")
    assert caught.value.field == "before"


def test_paid_dates_are_the_shops_calendar_days_both_included(orders, database):
    shop, _ = orders
    november_first = listing(
        database, shop.id, queries.OrderFilter(paid_from=date(2026, 11, 1), paid_to=date(2026, 11, 1))
    )
    assert external_ids(november_first) == ["1"]  # paid 16:30 UTC on October 31
    october = listing(database, shop.id, queries.OrderFilter(paid_to=date(2026, 10, 31)))
    assert external_ids(october) == ["4"]
    since = listing(database, shop.id, queries.OrderFilter(paid_from=date(2026, 11, 3)))
    assert external_ids(since) == ["7", "6", "5", "3"]
    with pytest.raises(queries.InvalidFilter) as caught:
        listing(
            database, shop.id, queries.OrderFilter(paid_from=date(2026, 11, 3), paid_to=date(2026, 11, 2))
        )
    assert caught.value.field == "paid_to"


def test_status_distributor_and_commission_filters(orders, database, send):
    shop, ids = orders
    fulfilled = so.order(3, at(3), [30000], customer=5003, ref="INV-Y", fulfillment_status="fulfilled")
    assert send(shop, "orders/fulfilled", fulfilled).status_code == 200
    assert external_ids(listing(database, shop.id, queries.OrderFilter(status="completed"))) == ["3"]
    assert external_ids(listing(database, shop.id, queries.OrderFilter(distributor="INV-X"))) == ["1", "4"]
    assert external_ids(listing(database, shop.id, queries.OrderFilter(distributor="inv-x"))) == ["1", "4"]
    assert external_ids(listing(database, shop.id, queries.OrderFilter(distributor=str(ids["y"])))) == [
        "3",
        "1",
        "4",
    ]
    assert external_ids(listing(database, shop.id, queries.OrderFilter(has_commission=True))) == [
        "3",
        "1",
        "4",
    ]
    assert external_ids(listing(database, shop.id, queries.OrderFilter(has_commission=False))) == [
        "7",
        "6",
        "5",
        "2",
    ]
    both = queries.OrderFilter(distributor="INV-Y", has_commission=True, paid_from=date(2026, 11, 1))
    assert external_ids(listing(database, shop.id, both)) == ["3", "1"]
    for bad, field in (
        (queries.OrderFilter(status="created"), "status"),
        (queries.OrderFilter(distributor="INV-NOBODY"), "distributor"),
        (queries.OrderFilter(distributor="999999"), "distributor"),
    ):
        with pytest.raises(queries.InvalidFilter) as caught:
            listing(database, shop.id, bad)
        assert caught.value.field == field


def test_another_shops_orders_and_distributors_are_not_seen(orders, database, make_shop, send):
    shop, ids = orders
    other = make_shop(name="Other")
    assert send(other, "orders/paid", so.order(1, at(7), [9900], customer=5001, ref=None)).status_code == 200
    assert external_ids(listing(database, other.id)) == ["1"]
    assert listing(database, other.id).rows[0].paid_total == 9900
    with pytest.raises(queries.InvalidFilter):
        listing(database, other.id, queries.OrderFilter(distributor=str(ids["x"])))
    with database.read() as session:
        order_id = session.scalar(select(Order.id).where(Order.shop_id == shop.id, Order.external_id == "1"))
        with pytest.raises(NotFound):
            queries.order_detail(session, other.id, order_id)


def test_a_page_costs_two_statements_however_many_orders_it_shows(orders, database):
    shop, _ = orders
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with database.read() as session:
        shop_row = session.get(Shop, shop.id)
        event.listen(database.engine, "before_cursor_execute", count)
        try:
            queries.list_orders(session, shop_row, queries.OrderFilter(), limit=2)
            small = len(statements)
            statements.clear()
            queries.list_orders(session, shop_row, queries.OrderFilter(), limit=50)
            large = len(statements)
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
    assert small == large
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_an_order_in_full_lines_refunds_and_commissions_with_their_steps(orders, database):
    shop, ids = orders
    with database.read() as session:
        order_id = session.scalar(select(Order.id).where(Order.shop_id == shop.id, Order.external_id == "1"))
        found = queries.order_detail(session, shop.id, order_id)
    assert [(line.product_id, line.paid_amount, line.refunded_amount) for line in found.lines] == [
        ("900", 10000, 4000)
    ]
    assert [(r.refund.external_id, r.refund.total) for r in found.refunds] == [("91", 4000)]
    assert [(part.product_id, part.sku, part.amount) for part in found.refunds[0].lines] == [
        ("900", "SKU-0", 4000)
    ]
    assert [
        (
            v.commission.tier,
            v.commission.beneficiary_id,
            v.commission.amount,
            v.commission.reversed,
            v.invite_code,
        )
        for v in found.commissions
    ] == [(1, ids["x"], 1000, 400, "INV-X"), (2, ids["y"], 500, 200, "INV-Y")]
    assert found.commission_total == 600 + 300
    assert [v.line.external_id for v in found.commissions] == [found.lines[0].external_id] * 2
    tier1 = found.commissions[0].steps
    assert [(s.kind, s.rule, s.value) for s in tier1] == [
        (explain.BASE, "tier1-default", explain.Contribution("10", 0))
    ]


# Steps from stored explanations: every effect the pricing writes (rules/pricing.py).


def entry(rule, effect, rate="0", fixed=0, mode="replace", priority=0, **extra):
    return {
        "rule": rule,
        "priority": priority,
        "mode": mode,
        "effect": effect,
        "rate": rate,
        "fixed": fixed,
        **extra,
    }


def test_a_base_replacing_a_lower_rule_names_the_base_it_replaced_once():
    steps = explain.steps(
        [
            entry("double11", "base", "15", priority=50),
            entry("weekend", "stacked", "2", 100, mode="stack", priority=15),
            entry("category-tea", "shadowed", "8", priority=10),
            entry("tier1-default", "shadowed", "10"),
        ]
    )
    assert [(s.kind, s.rule) for s in steps] == [
        (explain.REPLACED, "double11"),
        (explain.STACKED, "weekend"),
        (explain.SHADOWED, "tier1-default"),
    ]
    assert (steps[0].replaced_rule, steps[0].replaced, steps[0].value) == (
        "category-tea",
        explain.Contribution("8", 0),
        explain.Contribution("15", 0),
    )
    assert (steps[1].value.rate, steps[1].value.fixed, steps[1].value.has_rate) == ("2", 100, True)
    assert explain.Contribution("0", 300).has_rate is False


def test_an_exclusion_shadows_every_other_rule_and_replaces_nothing():
    steps = explain.steps(
        [
            entry("double11", "shadowed", "15", priority=50),
            entry("gift-cards", "excluded", mode="stack"),
            entry("tier1-default", "shadowed", "10"),
        ]
    )
    assert [(s.kind, s.rule) for s in steps] == [
        (explain.SHADOWED_BY_EXCLUSION, "double11"),
        (explain.EXCLUDED, "gift-cards"),
        (explain.SHADOWED_BY_EXCLUSION, "tier1-default"),
    ]


def test_every_limit_becomes_a_step_with_its_amounts_before_and_after():
    none = {"rule": None, "priority": None, "mode": None}
    steps = explain.steps(
        [
            entry("fixed", "base", "0", 20000),
            {**none, "effect": "capped", "rate": "0", "fixed": 20000, "uncapped": 20000, "amount": 15000},
            {
                **entry("fixed", "capped_per_line"),
                "cap": 9000,
                "already_paid": 0,
                "uncapped": 15000,
                "amount": 9000,
            },
            {
                **entry("fixed", "capped_per_order"),
                "cap": 10000,
                "already_paid": 2000,
                "uncapped": 9000,
                "amount": 8000,
            },
            {
                **entry("fixed", "capped_per_month"),
                "cap": 50000,
                "already_paid": 45000,
                "uncapped": 8000,
                "amount": 5000,
            },
            {
                **none,
                "effect": "capped_by_ceiling",
                "cap": 7500,
                "already_paid": 4000,
                "uncapped": 5000,
                "amount": 3500,
            },
            {**none, "effect": "boosted_by_magic"},
        ]
    )
    assert [(s.kind, s.cap, s.already_paid, s.before, s.after) for s in steps[1:6]] == [
        (explain.CAPPED_AT_LINE_PAID, None, None, 20000, 15000),
        (explain.CAPPED_PER_LINE, 9000, 0, 15000, 9000),
        (explain.CAPPED_PER_ORDER, 10000, 2000, 9000, 8000),
        (explain.CAPPED_PER_MONTH, 50000, 45000, 8000, 5000),
        (explain.CAPPED_BY_CEILING, 7500, 4000, 5000, 3500),
    ]
    assert (steps[0].kind, steps[0].value.fixed, steps[0].value.has_rate) == (explain.BASE, 20000, False)
    assert (steps[6].kind, steps[6].effect) == (explain.UNKNOWN, "boosted_by_magic")
    assert {s.kind for s in steps} | {explain.NOTHING_MATCHED, explain.REPLACED, explain.STACKED} | {
        explain.SHADOWED,
        explain.SHADOWED_BY_EXCLUSION,
        explain.EXCLUDED,
    } == set(explain.KINDS)


def test_an_empty_explanation_says_nothing_matched():
    assert explain.steps([]) == [explain.Step(explain.NOTHING_MATCHED)]
    assert explain.steps(None) == [explain.Step(explain.NOTHING_MATCHED)]


def test_commissions_priced_by_the_webhooks_carry_explanations_the_steps_read(orders, database):
    """Every stored explanation of a real order reads without an unknown step."""
    shop, _ = orders
    with database.read() as session:
        stored = list(session.scalars(select(Commission.explanation).where(Commission.shop_id == shop.id)))
    assert len(stored) == 5
    assert all(explain.UNKNOWN not in {s.kind for s in explain.steps(e)} for e in stored)
