"""The dashboard: every role sees it, only its own shop counts, the figures and their change
against last month are on the page, each chart comes with its data table, and a bad month is a
400 with the error on the field."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from plugin.commissions.models import Commission, MonthTally
from plugin.db import utcnow
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order
from plugin.reports import refresh
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))


def yuan(minor: int) -> str:
    """How the English page writes an amount of CNY (worked out here, not by the app)."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}¥{minor // 100:,}.{minor % 100:02d}"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


def distributors(database, shop_id: int, names: dict[str, str | None]) -> dict[str, int]:
    """Distributors owning code INV-<key>, each with its display name; B is invited by A."""
    ids = {}
    with database.transaction() as session:
        for key, name in names.items():
            member = member_for_identity(session, shop_id, "shopify", f"d-{key}")
            member.display_name = name
            make_distributor(session, shop_id, member.id, invite_code=f"INV-{key}")
            ids[key] = member.id
        if "B" in ids and "A" in ids:
            bind(session, shop_id, ids["B"], "INV-A")
    return ids


@pytest.fixture
def months(shop, database, send):
    """October: three attributed orders (one partly refunded); November: three, one unattributed."""
    shop.ids = distributors(database, shop.id, {"A": "王芳", "B": None})
    for payload in (
        so.order(1, at(10, 5), [30000], customer=1, ref="INV-B"),
        so.order(2, at(10, 31, 23), [10000], customer=2, ref="INV-A"),
        so.order(6, at(10, 12), [2000], customer=1, ref=None),
        so.order(3, at(11, 2), [45000, 5000], customer=3, ref="INV-B"),
        so.order(4, at(11, 9), [12000], customer=2, ref=None),
        so.order(5, at(11, 15), [9900], customer=9, ref=None),  # nobody invited buyer 9
    ):
        assert send(shop, "orders/paid", payload).status_code == 200
    assert send(shop, "refunds/create", so.refund(1, 77, {0: 6000}, at(10, 20))).status_code == 200
    refresh.sweep(database)
    return shop


def card(html: str, label: str) -> str:
    """The text of the key-figure card labelled ``label``."""
    found = re.search(
        r'<section class="card"[^>]*>\s*<div class="label"[^>]*>'
        + re.escape(label)
        + r"</div>(.*?)</section>",
        html,
        re.S,
    )
    assert found, f"no card {label}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def percent_change(current: int, previous: int) -> str:
    ratio = (Decimal(current) - Decimal(previous)) / Decimal(previous) * 100
    arrow = "▲" if ratio > 0 else "▼"
    return f"{arrow} {abs(ratio).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"


def month_sums(database, shop_id: int, month: str) -> tuple[int, int]:
    with database.read() as session:
        rows = session.execute(
            select(MonthTally.sales, MonthTally.commission).where(
                MonthTally.shop_id == shop_id, MonthTally.month == month
            )
        ).all()
    return sum(r.sales for r in rows), sum(r.commission for r in rows)


@pytest.mark.parametrize("role", ["viewer", "operator", "finance", "admin"])
def test_every_role_sees_the_dashboard(as_role, role):
    reply = as_role(role).get("/admin/")
    assert reply.status_code == 200
    assert "Distribution GMV" in reply.get_data(as_text=True)


def test_a_stranger_is_sent_to_the_login_form(client):
    reply = client.get("/admin/?month=2026-10")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/admin/login")


def test_the_figures_and_their_change_against_last_month_are_on_the_page(months, as_role, database):
    html = as_role("viewer").get("/admin/?month=2026-11").get_data(as_text=True)
    november, november_commission = month_sums(database, months.id, "2026-11")
    october, october_commission = month_sums(database, months.id, "2026-10")
    assert (october, november) == (30000 - 6000 + 10000 + 2000, 45000 + 5000 + 12000)  # the orders' own sums
    gmv = card(html, "Distribution GMV")
    assert gmv.startswith(yuan(november)) and percent_change(november, october) in gmv
    assert f"October 2026: {yuan(october)}" in gmv
    commission = card(html, "Commission earned")
    assert commission.startswith(yuan(november_commission))
    assert percent_change(november_commission, october_commission) in commission
    orders = card(html, "Orders with commission")
    assert orders.startswith("2 ") and "▼ 33.3 %" in orders  # three in October, two in November
    assert card(html, "Commission paid").startswith(yuan(0))
    assert card(html, "Distributors (active / total)").startswith("2 / 2")  # both earned in November


def test_each_chart_has_a_title_and_its_data_table(months, as_role, database):
    html = as_role("viewer").get("/admin/?month=2026-10").get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script" not in html.split("<main", 1)[1]
    for table in ("table-days", "table-tiers", "table-top"):
        assert re.search(r"<details>\s*<summary>[^<]+</summary>\s*<table id=\"" + table, html), table
    days = re.search(r'<table id="table-days">.*?</table>', html, re.S).group(0)
    assert days.count('<th scope="row">') == 31  # every day of October
    with database.read() as session:
        earned = session.execute(
            select(Commission.tier, Commission.amount - Commission.reversed)
            .join(Order, Order.id == Commission.order_id)
            .where(
                Commission.shop_id == months.id, Order.paid_at >= at(10, 1, 0), Order.paid_at < at(11, 1, 0)
            )
        ).all()
    by_tier = {tier: sum(amount for t, amount in earned if t == tier) for tier in (1, 2)}
    tiers = re.search(r'<table id="table-tiers">.*?</table>', html, re.S).group(0)
    top = re.search(r'<table id="table-top">.*?</table>', html, re.S).group(0)
    assert yuan(30000 - 6000 + 2000) in top and yuan(10000) in top
    assert top.index(f"#{months.ids['B']}") < top.index("王芳")  # B brought in more
    for tier, amount in by_tier.items():
        assert re.search(rf"Tier {tier}</th><td class=\"num\">{re.escape(yuan(amount))}</td>", tiers), tier
    assert by_tier[1] > 0 and by_tier[2] > 0


def test_another_shops_orders_never_count(months, other_shop, as_role, database, send):
    distributors(database, other_shop.id, {"A": "李伟"})
    now = utcnow()
    big = so.order(1, now - timedelta(minutes=5), [777700], customer=1, ref="INV-A")
    assert send(other_shop, "orders/paid", big).status_code == 200
    old = so.order(2, at(10, 3), [888800], customer=1, ref="INV-A")
    assert send(other_shop, "orders/paid", old).status_code == 200
    refresh.sweep(database)
    client = as_role("viewer")
    for path in ("/admin/", "/admin/?month=2026-10", "/admin/?month=2026-11"):
        html = client.get(path).get_data(as_text=True)
        assert yuan(777700) not in html and yuan(888800) not in html and "李伟" not in html
    november, _ = month_sums(database, months.id, "2026-11")
    assert card(client.get("/admin/?month=2026-11").get_data(as_text=True), "Distribution GMV").startswith(
        yuan(november)
    )
    theirs = as_role("viewer", shop_id=other_shop.id).get("/admin/?month=2026-10").get_data(as_text=True)
    assert card(theirs, "Distribution GMV").startswith(yuan(888800))


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Enter a month as YYYY-MM"),
        ("november", "Enter a month as YYYY-MM"),
        ("1999-12", "Pick a month from 2000-01 on."),
        ("2999-01", "Pick this month or an earlier one"),
    ],
)
def test_a_bad_month_is_a_400_with_the_error_on_the_field(as_role, month, message):
    reply = as_role("viewer").get(f"/admin/?month={month}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    errors = re.search(r'<ul class="errors" id="month-errors">(.*?)</ul>', html, re.S)
    assert errors and message in errors.group(1)
    assert 'aria-invalid="true"' in html and "<svg" not in html


def test_the_page_reads_in_chinese(months, as_role):
    client = as_role("viewer")
    html = client.get("/admin/?month=2026-10", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "分销业绩" in html and "2026年10月" in html and "Distribution GMV" not in html
