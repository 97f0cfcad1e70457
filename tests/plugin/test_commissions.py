"""Compliance of commissions: depth, self-purchase, rule version, recompute changes nothing."""

import json

import pytest
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.errors import InvalidSetting
from plugin.ledger.models import LedgerEntry
from plugin.members import directory
from plugin.orders import lifecycle
from plugin.orders.models import Order
from plugin.shops.models import Shop
from plugin.shops.tenants import create_shop
from tests.conftest import fixture_bytes, fixture_json
from tests.plugin.scenario import ALL_TIERS_RULESET, install_unvalidated


def commissions(database):
    with database.transaction() as session:
        return sorted(
            (c.tier, c.beneficiary_id, c.amount, c.rule_version) for c in session.scalars(select(Commission))
        )


@pytest.mark.parametrize("depth", [4, 0, True])
def test_depth_beyond_three_or_below_one_is_rejected(database, depth):
    with pytest.raises(InvalidSetting) as err, database.transaction() as session:
        create_shop(session, name="x", platform="shopify", tier_depth=depth)
    assert err.value.field == "tier_depth"


def test_depth_three_pays_only_tiers_the_rules_price(make_shop, send, database):
    shop = make_shop(tier_depth=3)
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    # Default rules price tiers 1 and 2 only; A (tier 4) could never earn.
    assert commissions(database) == [
        (1, chain["D"], 1000, 1),
        (1, chain["D"], 2980, 1),
        (2, chain["C"], 500, 1),
        (2, chain["C"], 1490, 1),
    ]


def test_self_purchase_earns_nothing(shop, send, database):
    payload = fixture_json("shopify", "orders_paid")
    with database.transaction() as session:
        buyer = directory.member_for_identity(session, shop.id, "shopify", str(payload["customer"]["id"]))
        directory.make_distributor(session, shop.id, buyer.id, invite_code="INV-B7K2")
    assert send(shop, "orders/paid", payload).status_code == 200
    assert commissions(database) == []
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "binding.refused"))
        assert (refused.subject_type, refused.subject_id, refused.data) == (
            "member",
            str(buyer.id),
            {"order": "820982911946154508", "reason": "a member cannot bind to their own invite code"},
        )


def test_unpaid_order_earns_nothing_until_paid(shop, send, database):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    created = fixture_json("shopify", "orders_paid") | {"financial_status": "pending"}
    send(shop, "orders/create", created)
    assert commissions(database) == []
    send(shop, "orders/paid", fixture_json("shopify", "orders_paid"))
    assert len(commissions(database)) == 4


def test_completed_before_paid_delivery_still_pays_once(shop, send, database):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled"))
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.transaction() as session:
        order = session.scalar(select(Order))
        assert order.status == "completed"
    assert [amount for _, _, amount, _ in commissions(database)] == [1000, 2980, 500, 1490]


def test_refund_before_order_is_applied_when_order_arrives(shop, send, database):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "refunds/create", fixture_bytes("shopify", "refunds_create"))
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.transaction() as session:
        reversed_ = sorted((c.tier, c.amount, c.reversed) for c in session.scalars(select(Commission)))
    assert reversed_ == [(1, 1000, 0), (1, 2980, 1490), (2, 500, 0), (2, 1490, 745)]


def test_reapplying_the_same_snapshot_posts_nothing_twice(shop, database):
    from adapters.registry import get_adapter

    adapter = get_adapter("shopify")
    body = fixture_bytes("shopify", "orders_paid")
    headers = {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Webhook-Id": "x",
        "X-Shopify-Hmac-Sha256": "-",
        "X-Shopify-Shop-Domain": "d",
        "X-Shopify-API-Version": "2026-07",
    }
    snapshot = adapter.normalize(adapter.describe(headers, body), body)
    with database.transaction() as session:
        seed_chain(session, shop.id)
    for _ in range(3):
        with database.transaction() as session:
            lifecycle.apply_snapshot(session, session.get(Shop, shop.id), snapshot)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Commission)) == 4
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 8


def test_commission_records_rule_version_and_explanation(shop, send, database):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.transaction() as session:
        first = session.scalar(select(Commission).where(Commission.tier == 1).order_by(Commission.id))
        assert first.rule_version == 1
        assert json.loads(json.dumps(first.explanation))[0]["rule"] == "tier1-default"
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "commission.accrued")
            )
            == 4
        )


def test_longest_values_the_schema_allows_fit_the_database(shop, send, database):
    payload = fixture_json("shopify", "orders_paid")
    payload["line_items"][0]["sku"] = "S" * 256
    payload["line_items"][0]["product_type"] = "C" * 256
    payload["browser_ip"] = payload["client_details"]["browser_ip"] = "1" * 256
    assert send(shop, "orders/paid", payload).status_code == 200
    with database.transaction() as session:
        order = session.scalar(select(Order))
        assert order.status == "paid"
        assert order.buyer_email_hash is not None and len(order.buyer_email_hash) == 64
        assert {line.sku for line in order.lines} == {"S" * 256, "CAP-BLK"}


def shop_paying_every_tier(make_shop, database, depth: int) -> tuple:
    """Chain A <- B <- C <- D, buyer E through D's code, on rules pricing tiers 1..3 at 10/5/2 %
    (installed without validation, so that only the shop's depth can stop a tier)."""
    shop = make_shop(tier_depth=depth)
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
        install_unvalidated(session, session.get(Shop, shop.id), ALL_TIERS_RULESET)
    return shop, chain


def per_member(database, chain) -> dict[str, int]:
    names = {member_id: name for name, member_id in chain.items()}
    totals = dict.fromkeys(chain, 0)
    with database.transaction() as session:
        for commission in session.scalars(select(Commission)):
            totals[names[commission.beneficiary_id]] += commission.amount
    return totals


@pytest.mark.parametrize(
    ("depth", "expected"), [(1, (3980, 0, 0)), (2, (3980, 1990, 0)), (3, (3980, 1990, 796))]
)
def test_no_tier_deeper_than_the_shop_earns_even_when_the_rules_price_it(
    make_shop, send, database, depth, expected
):
    shop, chain = shop_paying_every_tier(make_shop, database, depth)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    totals = per_member(database, chain)
    assert (totals["D"], totals["C"], totals["B"]) == expected
    assert totals["A"] == 0  # tier 4: never, whatever the depth


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("C", "suspended", {"D": 3980, "C": 0, "B": 796, "A": 0}),
        ("D", "applied", {"D": 0, "C": 1990, "B": 796, "A": 0}),
        ("B", "rejected", {"D": 3980, "C": 1990, "B": 0, "A": 0}),
    ],
)
def test_an_ancestor_who_may_not_earn_gets_nothing_and_the_tiers_are_not_compressed(
    make_shop, send, database, who, status, expected
):
    shop, chain = shop_paying_every_tier(make_shop, database, 3)
    send(
        shop, "orders/create", fixture_json("shopify", "orders_paid") | {"financial_status": "pending"}
    )  # binds E
    with database.transaction() as session:
        session.get(directory.Distributor, chain[who]).status = status
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    assert per_member(database, chain) == expected
