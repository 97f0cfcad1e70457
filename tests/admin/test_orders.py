"""Order Settlement: the order list and its filters, an order's page with its commissions explained
in words (rules published for the test, orders sent as signed webhooks), and running settlement
for the current shop only (finance, admin), audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin.views import orders as orders_view
from plugin.audit.models import AuditEvent
from plugin.commissions.models import Commission
from plugin.db import utcnow
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order
from plugin.shops import rulesets
from tests.admin.conftest import post
from tests.plugin import shopify_orders as so

ROLES = ("viewer", "operator", "finance", "admin")
SETTLERS = ("finance", "admin")

# tier 1: 15 % on a line of 300.00 or more, at most 50.00 a line, else 10 %; tier 2: 5 % + 1 % bonus
RULES = {
    "name": "promo and bonus",
    "rules": [
        {
            "id": "promo",
            "priority": 50,
            "mode": "replace",
            "conditions": {
                "all": [
                    {"name": "tier", "operator": "equal_to", "value": 1},
                    {"name": "line_paid_amount", "operator": "greater_than_or_equal_to", "value": 30000},
                ]
            },
            "actions": [
                {"name": "set_rate", "params": {"percent": "15"}},
                {"name": "cap_per_line", "params": {"amount": 5000}},
            ],
        },
        {
            "id": "tier1-default",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [{"name": "set_rate", "params": {"percent": "10"}}],
        },
        {
            "id": "tier2-default",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
            "actions": [{"name": "set_rate", "params": {"percent": "5"}}],
        },
        {
            "id": "tier2-bonus",
            "priority": 15,
            "mode": "stack",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
            "actions": [{"name": "add_bonus_rate", "params": {"percent": "1"}}],
        },
    ],
}
BIG, SMALL = 40000, 10000  # the two lines of order 1001


def set_up(database, send, shop, *, names=True):
    """Y invites X; the rules above published as v2; order 1001 (a buyer of X: 400.00 + 100.00)
    paid and completed 20 days ago (so its commissions are due), 40.00 of the small line
    refunded; order 1002 (nobody's buyer, 80.00) paid 19 days ago.

    Returns ``{"x": id, "y": id, "order": id of 1001, "plain": id of 1002}``."""
    with database.transaction() as session:
        y = member_for_identity(session, shop.id, "shopify", "y")
        x = member_for_identity(session, shop.id, "shopify", "x")
        if names:
            y.display_name, x.display_name = "Yan Yu", "13812345678"
        make_distributor(session, shop.id, y.id, invite_code="INV-Y")
        session.flush()
        bind(session, shop.id, x.id, "INV-Y")
        make_distributor(session, shop.id, x.id, invite_code="INV-X")
        rulesets.publish(session, shop.id, RULES, actor="test", note="promo")
        ids = {"x": x.id, "y": y.id}
    paid = utcnow() - timedelta(days=20)
    order = so.order(1001, paid, [BIG, SMALL], customer=7001, ref="INV-X", fulfillment_status="fulfilled")
    assert send(shop, "orders/fulfilled", order).status_code == 200
    assert (
        send(shop, "refunds/create", so.refund(1001, 501, {1: 4000}, paid + timedelta(days=1))).status_code
        == 200
    )
    plain = so.order(1002, paid + timedelta(days=1), [8000], customer=7002, ref=None)
    assert send(shop, "orders/paid", plain).status_code == 200
    with database.transaction() as session:
        for external_id, key in (("1001", "order"), ("1002", "plain")):
            ids[key] = session.scalar(
                select(Order.id).where(Order.shop_id == shop.id, Order.external_id == external_id)
            )
    return ids


@pytest.fixture
def world(database, send, shop):
    return set_up(database, send, shop)


def statuses(database, shop_id) -> list[str]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(Commission.status).where(Commission.shop_id == shop_id).order_by(Commission.id)
            )
        )


def audit_runs(database) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "settlement.run")))


def text_of(reply) -> str:
    """The page's text with tags removed and spaces collapsed (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", reply.get_data(as_text=True)))


# The list


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_list_only_finance_and_admin_get_the_settlement_button(as_role, world, role):
    reply = as_role(role).get("/admin/orders/")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert f'href="/admin/orders/{world["order"]}"' in html and "#1001" in html and "#1002" in html
    assert ('action="/admin/orders/settle"' in html) is (role in SETTLERS)


def row_cells(html: str, label: str) -> list[str]:
    """The text of each cell of the table row showing ``label``."""
    row = next(r for r in html.split("<tr>") if f">{label}<" in r)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def fen(amount: int) -> str:
    return f"¥{amount // 100:,}.{amount % 100:02d}"


def test_the_list_shows_each_orders_money_and_its_commission_net_of_refunds(as_role, world):
    html = as_role("viewer").get("/admin/orders/").get_data(as_text=True)
    # tier 1: 15 % of 400.00 capped at 50.00, 10 % of 100.00; tier 2: 5 % + 1 % of each line;
    # 40.00 of the 100.00 line refunded takes back 40 % of both its commissions
    big = min(BIG * 15 // 100, 5000) + BIG * 6 // 100
    small = (SMALL * 10 // 100) * 60 // 100 + (SMALL * 6 // 100) * 60 // 100
    assert row_cells(html, "#1001")[1:5] == ["completed", fen(BIG + SMALL), fen(4000), fen(big + small)]
    assert row_cells(html, "#1002")[1:5] == ["paid", fen(8000), fen(0), "—"]
    assert html.index(">#1002<") < html.index(">#1001<")  # newest first


def test_filters_narrow_the_list(as_role, world):
    client = as_role("viewer")
    assert "#1001" not in client.get("/admin/orders/?has_commission=no").get_data(as_text=True)
    assert "#1002" in client.get("/admin/orders/?has_commission=no").get_data(as_text=True)
    with_x = client.get("/admin/orders/?distributor=inv-x").get_data(as_text=True)
    assert "#1001" in with_x and "#1002" not in with_x
    with_y = client.get(f"/admin/orders/?distributor={world['y']}").get_data(as_text=True)
    assert "#1001" in with_y and "#1002" not in with_y
    completed = client.get("/admin/orders/?status=completed").get_data(as_text=True)
    assert "#1001" in completed and "#1002" not in completed
    future = client.get("/admin/orders/?paid_from=2100-01-01").get_data(as_text=True)
    assert "#1001" not in future and "#1002" not in future  # days to the day: test_order_queries.py


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("paid_from=2026-13-01", "paid_from"),
        ("paid_to=yesterday", "paid_to"),
        ("paid_from=2026-11-05&paid_to=2026-11-04", "paid_to"),
        ("distributor=INV-NOBODY", "distributor"),
        ("status=closed", "status"),
    ],
)
def test_bad_filters_are_a_400_page_with_the_error_on_the_field(as_role, world, query, field):
    reply = as_role("viewer").get(f"/admin/orders/?{query}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert f'id="{field}-errors"' in html and f'aria-describedby="{field}-errors"' in html
    assert "#1001" not in html  # no list under a filter that could not be applied


def test_a_bad_page_position_is_a_400_page(as_role, world):
    reply = as_role("viewer").get("/admin/orders/?after=not-a-position")
    assert reply.status_code == 400
    assert "start again from the first page" in reply.get_data(as_text=True)


def test_pages_follow_each_other_by_position(as_role, world, monkeypatch):
    monkeypatch.setattr(orders_view, "PAGE_SIZE", 1)
    client = as_role("viewer")
    first = client.get("/admin/orders/?has_commission=").get_data(as_text=True)
    assert "#1002" in first and "#1001" not in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "#1001" in second and "#1002" not in second and 'rel="next"' not in second
    newer = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert "#1002" in client.get(newer).get_data(as_text=True)


def test_the_list_never_shows_another_shops_orders(as_role, world, database, send, other_shop):
    set_up(database, send, other_shop, names=False)
    with database.transaction() as session:
        other_ids = set(session.scalars(select(Order.id).where(Order.shop_id == other_shop.id)))
    html = as_role("viewer").get("/admin/orders/").get_data(as_text=True)
    linked = {int(n) for n in re.findall(r'href="/admin/orders/(\d+)"', html)}
    assert linked == {world["order"], world["plain"]} and not linked & other_ids


# An order's page


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_an_order_with_lines_refunds_and_commissions(as_role, world, role):
    reply = as_role(role).get(f"/admin/orders/{world['order']}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "SKU-0" in html and "SKU-1" in html and "#501" in html
    assert (
        f'href="/admin/distributors/{world["x"]}"' in html
        and f'href="/admin/distributors/{world["y"]}"' in html
    )
    assert 'href="/admin/rules/versions/2"' in html  # the version the rules above were published as
    assert "138****5678" in html and "13812345678" not in html  # a phone-number name is masked
    assert "Yan Yu" in html and "INV-X" in html


def test_each_commission_is_explained_in_words(as_role, world):
    page = text_of(as_role("viewer").get(f"/admin/orders/{world['order']}"))
    uncapped = BIG * 15 // 100
    assert (
        "rule promo replaced base 10 % → 15 %; capped at ¥50.00 per line by rule promo "
        f"(was ¥{uncapped // 100}.{uncapped % 100:02d})"
    ) in page
    assert "rule tier1-default set the base: 10 %" in page
    assert "rule tier2-bonus added 1 % on top; rule tier2-default set the base: 5 %" in page


def test_the_explanation_reads_in_chinese_for_a_chinese_speaking_user(as_role, world):
    page = text_of(as_role("viewer", locale="zh_CN").get(f"/admin/orders/{world['order']}"))
    assert "规则 promo 将基础比例由 10 % 改为 15 %；单行封顶 ¥50.00（规则 promo，原为 ¥60.00）" in page
    assert "佣金" in page and "Commissions" not in page


def test_the_rule_phrases_cover_exclusions_and_every_cap(app, world, database):
    """The words of the steps no order above produces (the steps themselves are tested in
    tests/plugin/test_order_queries.py), rendered by the same macro."""
    from flask import render_template_string

    from plugin.commissions import explain

    none = {"rule": None, "priority": None, "mode": None}
    stored = [
        {**none, "rule": "double11", "mode": "replace", "effect": "shadowed", "rate": "15", "fixed": 0},
        {**none, "rule": "gifts", "mode": "stack", "effect": "excluded", "rate": "0", "fixed": 0},
        {**none, "effect": "capped", "rate": "0", "fixed": 9000, "uncapped": 9000, "amount": 8000},
        {
            **none,
            "rule": "r",
            "effect": "capped_per_order",
            "cap": 10000,
            "already_paid": 3000,
            "uncapped": 8000,
            "amount": 7000,
        },
        {
            **none,
            "rule": "r",
            "effect": "capped_per_month",
            "cap": 20000,
            "already_paid": 15000,
            "uncapped": 7000,
            "amount": 5000,
        },
        {
            **none,
            "effect": "capped_by_ceiling",
            "cap": 4000,
            "already_paid": 1000,
            "uncapped": 5000,
            "amount": 3000,
        },
    ]
    with app.test_request_context("/admin/orders/"):
        html = render_template_string(
            '{% from "orders/_explain.html" import explain %}{{ explain(steps, "CNY") }}',
            steps=explain.steps(stored),
        )
        empty = render_template_string(
            '{% from "orders/_explain.html" import explain %}{{ explain(steps, "CNY") }}',
            steps=explain.steps([]),
        )
    text = re.sub(r"<[^>]+>", "", html)
    assert text.split("; ") == [
        "rule double11 (15 %) matched, but did not count: the line is excluded",
        "rule gifts excluded this line: no commission",
        "capped at the line's paid amount, ¥80.00 (was ¥90.00)",
        "capped at ¥100.00 per order by rule r: ¥30.00 already earned on this order, so ¥70.00 (was ¥80.00)",
        "capped at ¥200.00 per month by rule r: ¥150.00 already earned this month, so ¥50.00 (was ¥70.00)",
        "capped by the shop's ceiling of ¥40.00 on this line: the other tiers took ¥10.00, "
        "so ¥30.00 (was ¥50.00)",
    ]
    assert re.sub(r"<[^>]+>", "", empty) == "no rule matched"


def test_an_order_of_another_shop_or_no_order_is_a_404(as_role, world, database, send, other_shop):
    other = set_up(database, send, other_shop, names=False)
    client = as_role("admin")
    assert client.get(f"/admin/orders/{other['order']}").status_code == 404
    assert client.get("/admin/orders/999999").status_code == 404
    assert as_role("admin", shop_id=other_shop.id).get(f"/admin/orders/{world['order']}").status_code == 404


# Running settlement


@pytest.mark.parametrize("role", SETTLERS)
def test_finance_and_admin_settle_this_shop_now_and_the_run_is_audited(
    as_role, world, database, send, other_shop, role
):
    set_up(database, send, other_shop, names=False)
    before_other = statuses(database, other_shop.id)
    client = as_role(role)
    mine = statuses_of_shop(database, client)
    assert mine.count("pending") == 4 and before_other.count("pending") == 4
    page = client.get("/admin/orders/").get_data(as_text=True)
    assert "Commissions due now (their after-sales window has closed): 4." in page
    reply = post(client, "/admin/orders/settle", token_from="/admin/orders/")
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/orders/"
    assert "Settlement ran. Commissions settled: 4." in client.get("/admin/orders/").get_data(as_text=True)
    assert statuses_of_shop(database, client) == ["available"] * 4
    assert statuses(database, other_shop.id) == before_other  # the other shop's stay pending
    runs = audit_runs(database)
    assert [(e.shop_id, e.actor, e.subject_type, e.data) for e in runs] == [
        (runs[0].shop_id, client.email, "shop", {"count": 4})
    ]
    assert runs[0].shop_id != other_shop.id
    again = post(client, "/admin/orders/settle", token_from="/admin/orders/")
    assert again.status_code == 302
    assert "Settlement ran. Commissions settled: 0." in client.get("/admin/orders/").get_data(as_text=True)
    assert [e.data for e in audit_runs(database)] == [{"count": 4}, {"count": 0}]


def statuses_of_shop(database, client) -> list[str]:
    with database.transaction() as session:
        from plugin.users.models import User

        shop_id = session.scalar(select(User.shop_id).where(User.email == client.email))
    return statuses(database, shop_id)


@pytest.mark.parametrize("role", ("viewer", "operator"))
def test_viewer_and_operator_may_not_run_settlement(as_role, world, database, role):
    client = as_role(role)
    before = statuses_of_shop(database, client)
    reply = post(client, "/admin/orders/settle", token_from="/admin/orders/")
    assert reply.status_code == 403
    assert statuses_of_shop(database, client) == before and "available" not in before
    assert audit_runs(database) == []


def test_settlement_without_the_csrf_token_is_refused(as_role, world, database):
    client = as_role("finance")
    before = statuses_of_shop(database, client)
    reply = client.post("/admin/orders/settle", data={})
    assert reply.status_code == 400
    assert "The form expired" in reply.get_data(as_text=True)
    assert statuses_of_shop(database, client) == before and "available" not in before
    assert audit_runs(database) == []


def test_a_finance_user_of_another_shop_settles_only_their_own(as_role, world, database, other_shop):
    client = as_role("finance", shop_id=other_shop.id)
    mine_before = statuses_of_shop(database, as_role("viewer"))
    reply = post(client, "/admin/orders/settle", token_from="/admin/orders/")
    assert reply.status_code == 302
    assert statuses_of_shop(database, as_role("viewer")) == mine_before and "available" not in mine_before
    assert [(e.shop_id, e.data) for e in audit_runs(database)] == [(other_shop.id, {"count": 0})]
