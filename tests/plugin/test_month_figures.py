"""Caps, ladders, new buyers and the merchant's ceiling, priced live through signed webhooks and
replayed: exact figures, shop-local months bounded on both sides, serialized per beneficiary."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from adapters.registry import get_adapter
from plugin.commissions.models import Commission
from plugin.commissions.simulation import simulate_draft
from plugin.inbox import mailbox
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order, OrderLine
from plugin.shops import rulesets
from tests.conftest import shopify_headers
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))


def day(month: int, day_: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day_, hour, minute, tzinfo=CST)


def tier1(percent: str, *extra, priority: int = 0, rule_id: str = "tier1", conditions=()) -> dict:
    return {
        "id": rule_id,
        "priority": priority,
        "mode": "replace",
        "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}, *conditions]},
        "actions": [{"name": "set_rate", "params": {"percent": percent}}, *extra],
    }


def cap(kind: str, amount: int) -> dict:
    return {"name": f"cap_per_{kind}", "params": {"amount": amount}}


def shop_with_rules(make_shop, database, document, **settings):
    """A shop whose distributor X owns code INV-X (the orders' ref), running ``document``."""
    shop = make_shop(tier_depth=1, **settings)
    with database.transaction() as session:
        x = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
        rulesets.publish(session, shop.id, document, actor="tests")
    shop.x = x.id
    return shop


def earned(database, shop) -> dict[tuple[int, int], int]:
    """(order external id, line index) -> commission amount, for every commission of the shop."""
    with database.transaction() as session:
        rows = session.execute(
            select(Order.external_id, OrderLine.external_id, Commission.amount)
            .join(OrderLine, OrderLine.id == Commission.order_line_id)
            .join(Order, Order.id == Commission.order_id)
            .where(Commission.shop_id == shop.id)
        ).all()
    return {(int(o), int(line) % 10): amount for o, line, amount in rows}


def paid(send, shop, *orders):
    for payload in orders:
        assert send(shop, "orders/paid", payload).status_code == 200


def test_a_per_order_cap_is_carried_across_the_lines_of_an_order(make_shop, database, send):
    shop = shop_with_rules(make_shop, database, {"rules": [tier1("10", cap("order", 3500))]})
    paid(send, shop, so.order(1, day(11, 5), [29800, 10000]), so.order(2, day(11, 6), [29800, 10000]))
    assert earned(database, shop) == {(1, 0): 2980, (1, 1): 520, (2, 0): 2980, (2, 1): 520}


def test_a_monthly_cap_counts_earlier_orders_and_earlier_lines_and_starts_again_next_month(
    make_shop, database, send
):
    shop = shop_with_rules(make_shop, database, {"rules": [tier1("10", cap("month", 5000))]})
    paid(
        send,
        shop,
        so.order(1, day(11, 5), [29800, 10000]),  # 2980 + 1000
        so.order(2, day(11, 20), [29800, 10000]),  # 1020 left, then nothing
        so.order(3, day(11, 21), [40000, 40000]),
        so.order(4, day(12, 1), [40000, 40000]),  # December: 4000 + 1000 (the earlier line counts)
    )
    assert earned(database, shop) == {(1, 0): 2980, (1, 1): 1000, (2, 0): 1020, (4, 0): 4000, (4, 1): 1000}


def test_an_order_of_an_earlier_month_delivered_late_is_priced_on_its_own_months_figures(
    make_shop, database, send
):
    shop = shop_with_rules(make_shop, database, {"rules": [tier1("10", cap("month", 5000))]})
    paid(
        send,
        shop,
        so.order(1, day(11, 1, 0, 30), [29800, 10000]),  # 00:30 on 1 November in Beijing: November
        so.order(2, day(11, 6), [29800]),
        so.order(3, day(10, 31, 23, 30), [29800, 10000]),  # 23:30 on 31 October in Beijing, after them
    )
    assert earned(database, shop) == {(1, 0): 2980, (1, 1): 1000, (2, 0): 1020, (3, 0): 2980, (3, 1): 1000}


LADDER = {
    "rules": [
        tier1("5", rule_id="base"),
        tier1(
            "8",
            priority=10,
            rule_id="ladder",
            conditions=[
                {"name": "beneficiary_month_sales", "operator": "greater_than_or_equal_to", "value": 1000000}
            ],
        ),
    ]
}


def test_the_ladder_counts_this_months_sales_before_each_line_net_of_refunds(make_shop, database, send):
    shop = shop_with_rules(make_shop, database, LADDER)
    paid(
        send,
        shop,
        so.order(1, day(11, 3), [600000]),  # 5 %
        so.order(2, day(11, 4), [500000, 100000]),  # 5 %, then 8 %: its first line took the month to 1.1M
        so.order(3, day(11, 5), [10000]),  # 8 %
    )
    assert send(shop, "refunds/create", so.refund(1, 91, {0: 600000}, day(11, 5, 13))).status_code == 200
    paid(send, shop, so.order(4, day(11, 6), [10000]))  # 610000 of sales left: 5 % again
    assert earned(database, shop) == {(1, 0): 30000, (2, 0): 25000, (2, 1): 8000, (3, 0): 800, (4, 0): 500}


NEW_BUYER = {
    "rules": [
        tier1("5"),
        {
            "id": "welcome",
            "priority": 5,
            "mode": "stack",
            "conditions": {"all": [{"name": "buyer_is_new", "operator": "is_true", "value": None}]},
            "actions": [{"name": "add_bonus_rate", "params": {"percent": "5"}}],
        },
    ]
}


def test_new_buyer_is_granted_once_to_the_first_order_processed(make_shop, database, send):
    in_order = shop_with_rules(make_shop, database, NEW_BUYER)
    first, second = (
        so.order(1, day(11, 10), [10000], customer=7001),
        so.order(2, day(11, 12), [10000], customer=7001),
    )
    paid(send, in_order, first, second)
    assert earned(database, in_order) == {(1, 0): 1000, (2, 0): 500}
    late = shop_with_rules(make_shop, database, NEW_BUYER)
    paid(send, late, second, first)  # the later order arrived first: it is the one priced as new
    assert earned(database, late) == {(1, 0): 500, (2, 0): 1000}


def test_an_earlier_paid_order_that_earned_nothing_still_uses_the_new_buyer_claim(make_shop, database, send):
    shop = shop_with_rules(make_shop, database, NEW_BUYER)
    paid(
        send, shop, so.order(1, day(11, 10), [10000], customer=7002, ref=None)
    )  # not bound yet: no commission
    paid(send, shop, so.order(2, day(11, 12), [10000], customer=7002))
    assert earned(database, shop) == {(2, 0): 500}


def stored_orders(database, shop, payloads) -> list[int]:
    """Store deliveries as intake would, without processing them."""
    ids = []
    with database.transaction() as session:
        for payload in payloads:
            body = json.dumps(payload).encode()
            headers = shopify_headers("orders/paid", body, shop.secret)
            delivery = get_adapter("shopify").describe(headers, body)
            ids.append(mailbox.store(session, shop.id, "shopify", delivery, headers, body))
    return ids


def process_at_once(database, event_ids):
    with ThreadPoolExecutor(max_workers=len(event_ids)) as pool:
        return list(pool.map(lambda event_id: mailbox.process(database, event_id), event_ids))


def test_workers_pricing_at_the_same_moment_never_share_the_room_under_a_monthly_cap(make_shop, database):
    shop = shop_with_rules(make_shop, database, {"rules": [tier1("10", cap("month", 10000))]})
    orders = [so.order(100 + n, day(11, 10, n), [29800], customer=8000 + n) for n in range(8)]
    assert set(process_at_once(database, stored_orders(database, shop, orders))) == {"processed"}
    amounts = sorted(earned(database, shop).values(), reverse=True)
    assert amounts == [2980, 2980, 2980, 1060]  # 10000 exactly, whichever order won


def test_orders_of_one_new_buyer_priced_at_the_same_moment_get_one_bonus(make_shop, database):
    shop = shop_with_rules(make_shop, database, NEW_BUYER)
    orders = [so.order(200 + n, day(11, 10, n), [10000], customer=7003) for n in range(6)]
    assert set(process_at_once(database, stored_orders(database, shop, orders))) == {"processed"}
    assert sorted(earned(database, shop).values()) == [500] * 5 + [1000]


EVERYTHING = {
    "rules": [
        tier1("5", cap("month", 40000), rule_id="base"),
        tier1(
            "8",
            cap("order", 30000),
            priority=10,
            rule_id="ladder",
            conditions=[
                {"name": "beneficiary_month_sales", "operator": "greater_than_or_equal_to", "value": 500000}
            ],
        ),
        NEW_BUYER["rules"][1],
        {
            "id": "month-cap",
            "priority": 0,
            "mode": "stack",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [cap("month", 40000)],
        },
    ]
}


def test_the_replay_of_the_published_rules_gives_back_what_was_paid(make_shop, database, send):
    """Caps, a ladder and new buyers, with refunds between orders and an October order arriving
    after November ones: replaying the rules that priced them changes nothing, to the fen."""
    shop = shop_with_rules(make_shop, database, EVERYTHING)
    events = [
        ("orders/paid", so.order(1, day(11, 2), [300000, 150000], customer=9001)),
        ("orders/paid", so.order(2, day(11, 3), [200000, 200000], customer=9002)),
        ("refunds/create", so.refund(1, 91, {0: 300000}, day(11, 3, 18))),
        ("orders/paid", so.order(3, day(11, 4), [250000, 50000], customer=9001)),
        ("orders/paid", so.order(4, day(10, 31, 23), [400000], customer=9003)),
        ("orders/paid", so.order(5, day(11, 20), [500000, 500000], customer=9004)),
        ("refunds/create", so.refund(5, 95, {1: 200000}, day(11, 21))),
        ("orders/paid", so.order(6, day(11, 22), [90000], customer=9005)),
        ("orders/paid", so.order(7, day(12, 1), [600000], customer=9002)),
    ]
    for topic, payload in events:
        assert send(shop, topic, payload).status_code == 200
    amounts = earned(database, shop)
    # By hand, for X in November (sales / commission this month before each line):
    # o1 (new buyer): 10 % of 300000 = 30000; 10 % of 150000 = 15000 capped to 40000 - 30000 = 10000.
    # o2 (new buyer): 20000 then 13 % (ladder at 650000 sales + welcome): the month is full, 0 and 0.
    # refund of o1's first line: commission 40000 - 30000 = 10000, sales 850000 - 300000 = 550000.
    # o3: 8 % of 250000 = 20000 (month room 30000); 8 % of 50000 = 4000.
    # o4, paid 23:00 on 31 October in Beijing: October's own month, new buyer: 10 % of 400000.
    # o5 (new buyer): 13 % = 65000 capped by the order (30000) and then the month (40000 - 34000).
    # o6: nothing left this month. o7 in December: 5 % of 600000.
    assert amounts == {
        (1, 0): 30000,
        (1, 1): 10000,
        (3, 0): 20000,
        (3, 1): 4000,
        (4, 0): 40000,
        (5, 0): 6000,
        (7, 0): 30000,
    }
    report = simulate_draft(database, shop.id, EVERYTHING, day(10, 1), day(12, 31))
    assert (report.total.lines, report.total.changed, report.total.difference) == (11, 0, 0)
    assert report.total.actual == report.total.simulated == sum(amounts.values())
    # and a draft without the month cap pays more, by what the cap withheld
    uncapped = {"rules": [r for r in EVERYTHING["rules"] if r["id"] != "month-cap"]}
    uncapped["rules"][0] = tier1("5", rule_id="base")
    assert simulate_draft(database, shop.id, uncapped, day(10, 1), day(12, 31)).total.difference > 0


def test_the_shop_ceiling_clamps_what_all_tiers_earn_on_a_line_and_says_so(make_shop, database, send):
    shop = make_shop(tier_depth=2, commission_ceiling_bp=2000)
    fixed = {
        "rules": [
            {
                "id": f"fixed-{tier}",
                "priority": 0,
                "mode": "replace",
                "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": tier}]},
                "actions": [{"name": "set_fixed_per_line", "params": {"amount": 1500}}],
            }
            for tier in (1, 2)
        ]
    }
    with database.transaction() as session:
        w = member_for_identity(session, shop.id, "shopify", "w")
        make_distributor(session, shop.id, w.id, invite_code="INV-W")
        x = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
        bind(session, shop.id, x.id, "INV-W")
        rulesets.publish(session, shop.id, fixed, actor="tests")
    paid(send, shop, so.order(1, day(11, 5), [10000, 100000]))
    with database.transaction() as session:
        rows = {
            (c.tier, int(line) % 10): (c.amount, c.explanation[-1]["effect"])
            for c, line in session.execute(
                select(Commission, OrderLine.external_id).join(
                    OrderLine, OrderLine.id == Commission.order_line_id
                )
            )
        }
    # line 0 paid 10000: 20 % is 2000 for both tiers together; line 1 paid 100000: room enough
    assert rows == {
        (1, 0): (1500, "base"),
        (2, 0): (500, "capped_by_ceiling"),
        (1, 1): (1500, "base"),
        (2, 1): (1500, "base"),
    }


def test_a_draft_whose_rates_can_exceed_the_ceiling_is_refused(client, make_shop):
    shop = make_shop(commission_ceiling_bp=2000)
    draft = {
        "rules": [
            tier1("15"),
            {
                **tier1("8"),
                "id": "tier2",
                "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
            },
        ]
    }
    reply = client.post(
        f"/api/v1/shops/{shop.id}/rules", json={"document": draft, "actor": "ops"}, headers=shop.auth
    )
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_ruleset", "rules")
    assert "above the shop's ceiling of 20 %" in error["message"]


@pytest.mark.parametrize("basis_points", [0, 10001, True])
def test_a_ceiling_outside_0_01_to_100_percent_is_refused(database, basis_points):
    from plugin.errors import InvalidSetting
    from plugin.shops import tenants

    with pytest.raises(InvalidSetting) as info, database.transaction() as session:
        tenants.create_shop(session, name="x", platform="shopify", commission_ceiling_bp=basis_points)
    assert info.value.field == "commission_ceiling"


def test_a_refund_between_an_orders_creation_and_its_payment_nets_the_months_sales(make_shop, database, send):
    shop = shop_with_rules(make_shop, database, LADDER)
    created = so.order(1, day(11, 3), [1500000], financial_status="pending")
    assert send(shop, "orders/create", created).status_code == 200
    assert send(shop, "refunds/create", so.refund(1, 91, {0: 600000}, day(11, 3, 13))).status_code == 200
    paid(send, shop, so.order(1, day(11, 3, 14), [1500000]))  # 5 %, 2/5 of it reversed at once
    paid(send, shop, so.order(2, day(11, 6), [10000]))  # the month's net sales: 900000 < 1M, 5 %
    assert earned(database, shop) == {(1, 0): 75000, (2, 0): 500}
    with database.transaction() as session:
        assert session.scalar(select(Commission.reversed).where(Commission.amount == 75000)) == 30000


def test_each_refund_lowers_the_months_sales_by_what_it_returned(make_shop, database, send):
    shop = shop_with_rules(make_shop, database, LADDER)
    paid(send, shop, so.order(1, day(11, 3), [1500000]))  # 5 %: the month had no sales before
    assert send(shop, "refunds/create", so.refund(1, 91, {0: 200000}, day(11, 4))).status_code == 200
    assert send(shop, "refunds/create", so.refund(1, 92, {0: 100000}, day(11, 5))).status_code == 200
    paid(send, shop, so.order(2, day(11, 6), [10000]))  # 1.2M of sales left: 8 %
    # A refund that overtakes its order nets the sales the order brings: 1M - 600000 = 400000
    assert send(shop, "refunds/create", so.refund(3, 93, {0: 600000}, day(12, 1, 9))).status_code == 200
    paid(send, shop, so.order(3, day(12, 1), [1000000]))
    paid(send, shop, so.order(4, day(12, 2), [10000]))  # 5 %
    assert earned(database, shop) == {(1, 0): 75000, (2, 0): 800, (3, 0): 50000, (4, 0): 500}
