"""Every commission example in examples/rules/ pays what its description says, end to end:
published on a shop, priced from signed Shopify webhooks, with every variable it reads fed
from its real source (delivery city, the distributor's region and level, the shop's category
tree, the order's tags and discount codes, the shop's time zone, the month's sales)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from plugin.commissions.models import Commission
from plugin.commissions.simulation import simulate_draft
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.members.models import Distributor
from plugin.orders.models import Order, OrderLine
from plugin.shops import categories, rulesets
from tests.plugin import shopify_orders as so

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"
CST = timezone(timedelta(hours=8))


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def shop_with(make_shop, database, name: str, depth: int, x=None, w=None, tree=None):
    """A shop running example ``name``: distributor X (code INV-X, the orders' ref) invited by W.

    ``x`` and ``w`` are (level, region) for the two distributors.
    """
    shop = make_shop(tier_depth=depth)
    x_level, x_region = x or ("B", None)
    w_level, w_region = w or ("B", None)
    with database.transaction() as session:
        w_member = member_for_identity(session, shop.id, "shopify", "w")
        make_distributor(session, shop.id, w_member.id, invite_code="INV-W", level=w_level, region=w_region)
        x_member = member_for_identity(session, shop.id, "shopify", "x")
        make_distributor(session, shop.id, x_member.id, invite_code="INV-X", level=x_level, region=x_region)
        bind(session, shop.id, x_member.id, "INV-W")
        if tree:
            categories.replace_tree(session, shop.id, tree)
        rulesets.publish(session, shop.id, example(name), actor="tests", note=name)
    shop.members = {"X": x_member.id, "W": w_member.id}
    return shop


def paid(database, send, shop, payload) -> dict[str, list[int]]:
    """Post ``payload`` as orders/paid; returns each distributor's commission per line, in line order."""
    assert send(shop, "orders/paid", payload).status_code == 200
    return earned(database, shop, payload["id"])


def earned(database, shop, order_id) -> dict[str, list[int]]:
    names = {member_id: name for name, member_id in shop.members.items()}
    with database.transaction() as session:
        order = session.scalar(
            select(Order).where(Order.shop_id == shop.id, Order.external_id == str(order_id))
        )
        rows = session.execute(
            select(Commission.beneficiary_id, OrderLine.external_id, Commission.amount)
            .join(OrderLine, OrderLine.id == Commission.order_line_id)
            .where(Commission.order_id == order.id)
        ).all()
        lines = [line.external_id for line in order.lines]
    result = {name: [0] * len(lines) for name in shop.members}
    for member_id, line, amount in rows:
        result[names[member_id]][lines.index(line)] = amount
    return result


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


def test_referral_fission_pays_8_and_3_percent(make_shop, database, send):
    shop = shop_with(make_shop, database, "referral_fission", 2)
    assert paid(database, send, shop, so.order(1, at(5), [10000, 20000])) == {
        "X": [800, 1600],
        "W": [300, 600],
    }


def test_city_partner_bonus_pays_in_the_partners_own_region_capped_per_line(make_shop, database, send):
    shop = shop_with(
        make_shop, database, "city_partner", 2, x=("city_partner", "Hangzhou"), w=("city_partner", "Suzhou")
    )
    # Shipped to Hangzhou: X (Hangzhou's partner) earns 8 % + 2 %, the second line capped at 5000;
    # W, Suzhou's partner, earns the plain 3 %.
    assert paid(database, send, shop, so.order(1, at(5), [10000, 300000], city="Hangzhou")) == {
        "X": [1000, 5000],
        "W": [300, 9000],
    }
    # Shipped to Suzhou: W's region gets W the bonus (3 % + 2 %, capped); X earns the plain 8 %.
    assert paid(database, send, shop, so.order(2, at(6), [10000, 300000], city="Suzhou", customer=5002)) == {
        "X": [800, 24000],
        "W": [500, 5000],
    }
    # The replay of these rules sees each partner's region as it was when the orders were priced.
    with database.transaction() as session:
        moved = session.get(Distributor, shop.members["X"])
        moved.region = "Suzhou"
    replay = simulate_draft(database, shop.id, example("city_partner"), at(1), at(30))
    assert (replay.total.lines, replay.total.changed, replay.total.actual) == (
        8,
        0,
        1000 + 5000 + 300 + 9000 + 800 + 24000 + 500 + 5000,
    )


def test_all_staff_distribution_pays_staff_5_percent_except_gift_cards_up_to_3000_yuan_a_month(
    make_shop, database, send
):
    tree = {"Digital Gift Card": "gift_cards", "Tee": "apparel"}
    shop = shop_with(make_shop, database, "employee_distribution", 1, x=("staff", None), tree=tree)
    gift_card = so.order(1, at(5), [100000, 50000], product_types=["Tee", "Digital Gift Card"])
    assert paid(database, send, shop, gift_card) == {"X": [5000, 0], "W": [0, 0]}
    assert paid(database, send, shop, so.order(2, at(6), [4000000], customer=5002)) == {
        "X": [200000],
        "W": [0],
    }
    # 3000 yuan a month: 95000 fen left of 300000
    assert paid(database, send, shop, so.order(3, at(7), [4000000], customer=5003)) == {
        "X": [95000],
        "W": [0],
    }
    assert paid(database, send, shop, so.order(4, at(1, month=12), [100000], customer=5004)) == {
        "X": [5000],
        "W": [0],
    }


def test_all_staff_distribution_pays_other_distributors_nothing(make_shop, database, send):
    shop = shop_with(make_shop, database, "employee_distribution", 1, x=("B", None))
    assert paid(database, send, shop, so.order(1, at(5), [100000])) == {"X": [0], "W": [0]}


def test_double_11_slot_pays_15_percent_from_midnight_to_two_shop_time(make_shop, database, send):
    shop = shop_with(make_shop, database, "double11_timeslot", 2)
    assert paid(database, send, shop, so.order(1, at(11, 0, 30), [10000])) == {"X": [1500], "W": [500]}
    assert paid(database, send, shop, so.order(2, at(11, 2, 0), [10000], customer=5002)) == {
        "X": [1000],
        "W": [500],
    }
    assert paid(database, send, shop, so.order(3, at(10, 23, 59), [10000], customer=5003)) == {
        "X": [1000],
        "W": [500],
    }


def test_monthly_ladder_pays_8_percent_once_the_months_sales_reach_10000_yuan(make_shop, database, send):
    shop = shop_with(make_shop, database, "monthly_ladder", 1)
    assert paid(database, send, shop, so.order(1, at(3), [600000, 400000, 10000])) == {
        "X": [30000, 20000, 800],
        "W": [0] * 3,
    }
    assert paid(database, send, shop, so.order(2, at(4), [10000], customer=5002)) == {"X": [800], "W": [0]}
    assert paid(database, send, shop, so.order(3, at(1, month=12), [10000], customer=5003)) == {
        "X": [500],
        "W": [0],
    }


def test_campaign_tags_come_from_the_orders_tags_and_discount_codes(make_shop, database, send):
    shop = shop_with(make_shop, database, "referral_fission", 2)
    with database.transaction() as session:
        document = example("referral_fission")
        document["rules"] = [document["rules"][0]] + [
            {
                "id": "double11-campaign",
                "priority": 5,
                "mode": "stack",
                "conditions": {
                    "all": [
                        {
                            "name": "campaign_tags",
                            "operator": "shares_at_least_one_element_with",
                            "value": ["double11"],
                        }
                    ]
                },
                "actions": [{"name": "add_bonus_rate", "params": {"percent": "2"}}],
            }
        ]
        rulesets.publish(session, shop.id, document, actor="tests")
    tagged = so.order(1, at(5), [10000], tags="vip, Double11")
    coded = so.order(
        2, at(5), [10000], customer=5002, discount_codes=[{"code": "DOUBLE11", "amount": "0.00"}]
    )
    plain = so.order(3, at(5), [10000], customer=5003, tags="vip")
    assert [paid(database, send, shop, o)["X"] for o in (tagged, coded, plain)] == [[1000], [1000], [800]]
