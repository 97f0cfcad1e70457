"""The Distributors tab: the list (search, filters, sorts, keyset pages, this month's figures as
the pipeline produced them), a distributor's page (balances, ledger sources, inviters,
invitees) and status changes with a reason: roles, shops, CSRF, validation, audit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.commissions.models import Commission
from plugin.members import bindings, directory, roster
from plugin.members.models import Distributor, Member
from plugin.orders.models import Order
from tests.admin.conftest import post
from tests.plugin import shopify_orders as so

ROLES = ("viewer", "operator", "finance", "admin")
ROW = re.compile(r'<tr data-member="(\d+)">')


def yuan(minor: int) -> str:
    minor = int(minor)
    return f"¥{minor // 100:,}.{minor % 100:02d}"


def add(session, shop_id: int, key: str, *, name=None, level="B", under=None) -> int:
    member = directory.member_for_identity(session, shop_id, "demo", key)
    member.display_name = name
    directory.make_distributor(session, shop_id, member.id, invite_code=f"INV-{key}", level=level)
    if under:
        bindings.bind(session, shop_id, member.id, f"INV-{under}")
    return member.id


@pytest.fixture
def team(database, shop, send):
    """Top (王小明, level A) invited X (a full phone number as name), who invited Z (level B);
    three buyers ordered this month under X's code, one under Z's."""
    with database.transaction() as session:
        ids = {
            "top": add(session, shop.id, "TOP", name="王小明", level="A"),
            "x": add(session, shop.id, "X", name="13812345678", under="TOP"),
            "z": add(session, shop.id, "Z", name="Zoe", under="X"),
        }
    now = datetime.now(UTC)
    orders = [
        (801, "INV-X", [10000, 2500]),
        (802, "INV-X", [20000]),
        (803, "INV-X", [3000]),
        (804, "INV-Z", [7000]),
    ]
    for n, (customer, ref, lines) in enumerate(orders):
        payload = so.order(7000 + n, now - timedelta(seconds=n), lines, customer=customer, ref=ref)
        assert send(shop, "orders/paid", payload).status_code == 200
    return ids


def rows(reply) -> list[int]:
    return [int(m) for m in ROW.findall(reply.get_data(as_text=True))]


def status_of(database, member_id: int) -> str:
    with database.read() as session:
        return session.get(Distributor, member_id).status


def status_events(database) -> list[AuditEvent]:
    with database.read() as session:
        return session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action.in_(
                    [
                        "distributor.suspended",
                        "distributor.approved",
                        "distributor.reinstated",
                        "distributor.rejected",
                    ]
                )
            )
            .where(AuditEvent.actor != "system")
        ).all()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_list_and_a_page(as_role, team, role):
    client = as_role(role)
    assert client.get("/admin/distributors/").status_code == 200
    page = client.get(f"/admin/distributors/{team['x']}")
    assert page.status_code == 200
    shown = "Change status" in page.get_data(as_text=True)
    assert shown == (role in ("operator", "admin"))


def test_the_list_shows_month_figures_as_the_pipeline_produced_them(as_role, team, database):
    html = as_role("viewer").get("/admin/distributors/").get_data(as_text=True)
    with database.read() as session:
        for key in ("top", "x", "z"):
            member = team[key]
            commission = session.scalar(
                select(func.coalesce(func.sum(Commission.amount), 0)).where(
                    Commission.beneficiary_id == member
                )
            )
            sales = session.scalar(
                select(func.coalesce(func.sum(Order.paid_total), 0)).where(
                    Order.ref_code == ("INV-X" if key == "x" else "INV-Z" if key == "z" else "INV-TOP")
                )
            )
            row = html.split(f'<tr data-member="{member}">', 1)[1].split("</tr>", 1)[0]
            cells = re.findall(r'<td class="num">([^<]*)</td>', row)
            assert cells == [yuan(sales), yuan(commission)], key
            assert commission > 0 or key == "z"
    x_row = html.split(f'<tr data-member="{team["x"]}">', 1)[1].split("</tr>", 1)[0]
    assert f'<a href="/admin/distributors/{team["top"]}">王小明</a>' in x_row  # invited by, linked
    assert '<span class="badge approved">Approved</span>' in x_row
    assert rows(as_role("viewer").get("/admin/distributors/")) == [team["z"], team["x"], team["top"]]


def test_search_filter_sort_and_keyset_pages(as_role, team, monkeypatch):
    client = as_role("viewer")
    assert rows(client.get("/admin/distributors/?q=小明")) == [team["top"]]
    assert rows(client.get("/admin/distributors/?q=inv-z")) == [team["z"]]
    assert rows(client.get(f"/admin/distributors/?q={team['x']}")) == [team["x"]]
    assert rows(client.get("/admin/distributors/?q=nobody")) == []
    assert rows(client.get("/admin/distributors/?level=A")) == [team["top"]]
    assert rows(client.get("/admin/distributors/?level=S")) == []
    assert rows(client.get("/admin/distributors/?status=suspended")) == []
    assert rows(client.get("/admin/distributors/?sort=gmv")) == [team["x"], team["z"], team["top"]]
    monkeypatch.setattr(roster, "PAGE_SIZE", 2)
    first = client.get("/admin/distributors/?sort=gmv").get_data(as_text=True)
    after = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(after)
    assert rows(second) == [team["top"]]
    assert 'rel="next"' not in second.get_data(as_text=True)
    before = (
        re.search(r'rel="prev" href="([^"]+)"', second.get_data(as_text=True)).group(1).replace("&amp;", "&")
    )
    assert rows(client.get(before)) == [team["x"], team["z"]]


@pytest.mark.parametrize(
    "query",
    ["?after=nonsense", "?before=1", "?status=gone", "?sort=name", "?q=" + "x" * 101, "?level=" + "A" * 17],
)
def test_bad_list_parameters_are_a_400_page(as_role, team, query):
    assert as_role("viewer").get("/admin/distributors/" + query).status_code == 400


def test_phone_numbers_are_masked_on_both_pages(as_role, team):
    client = as_role("viewer")
    for path in (
        "/admin/distributors/",
        f"/admin/distributors/{team['x']}",
        f"/admin/distributors/{team['z']}",
    ):
        html = client.get(path).get_data(as_text=True)
        assert "138****5678" in html, path
        assert "13812345678" not in html, path


def test_a_distributors_page_shows_balances_sources_inviters_and_invitees(as_role, team, database):
    html = as_role("viewer").get(f"/admin/distributors/{team['x']}").get_data(as_text=True)
    with database.read() as session:
        earned = session.execute(
            select(Commission.amount, Commission.tier, Commission.rule_version, Order.id, Order.external_id)
            .join(Order, Order.id == Commission.order_id)
            .where(Commission.beneficiary_id == team["x"])
        ).all()
    pending = sum(amount for amount, *_ in earned)
    assert sorted(tier for _, tier, *_ in earned) == [1, 1, 1, 1, 2]  # Z's buyer pays X at tier 2
    assert re.search(
        rf'<div class="label">Pending</div><div class="value">{re.escape(yuan(pending))}</div>', html
    )
    assert '<div class="label">Available</div><div class="value">¥0.00</div>' in html
    for _amount, tier, version, order_id, external_id in earned:
        link = f'<a href="/admin/orders/{order_id}">#{external_id}</a>'
        assert f"from order {link}, tier {tier}, rule v{version}" in html
    assert f'Tier 1: <a href="/admin/distributors/{team["top"]}">王小明</a>' in html
    assert "Direct invitees (4)" in html  # Z and the three buyers under X's code
    assert f'<a href="/admin/distributors/{team["z"]}">Zoe</a>' in html


def test_an_operator_suspends_and_reinstates_with_a_reason_and_it_is_audited(as_role, team, database):
    client = as_role("operator")
    path = f"/admin/distributors/{team['x']}"
    reply = post(
        client, path + "/status", {"action": "suspend", "reason": "order fraud review"}, token_from=path
    )
    assert reply.status_code == 302 and reply.headers["Location"] == path
    assert status_of(database, team["x"]) == "suspended"
    assert "Status changed: Suspend." in client.get(path).get_data(as_text=True)
    reply = post(client, path + "/status", {"action": "reinstate", "reason": "cleared"}, token_from=path)
    assert reply.status_code == 302 and status_of(database, team["x"]) == "approved"
    events = [(e.action, e.actor, e.subject_id, e.data["reason"]) for e in status_events(database)]
    assert events == [
        ("distributor.suspended", client.email, str(team["x"]), "order fraud review"),
        ("distributor.reinstated", client.email, str(team["x"]), "cleared"),
    ]


def test_a_reason_is_required_and_shown_on_its_field(as_role, team, database):
    client = as_role("admin")
    path = f"/admin/distributors/{team['x']}"
    reply = post(client, path + "/status", {"action": "suspend", "reason": "   "}, token_from=path)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert 'aria-describedby="reason-errors"' in html
    assert re.search(r'<ul class="errors" id="reason-errors"><li>Give a reason', html)
    assert status_of(database, team["x"]) == "approved" and status_events(database) == []


def test_an_action_that_does_not_fit_the_status_is_shown_on_its_field(as_role, team, database):
    client = as_role("operator")
    path = f"/admin/distributors/{team['x']}"
    reply = post(client, path + "/status", {"action": "reject", "reason": "why not"}, token_from=path)
    assert reply.status_code == 400
    assert 'id="action-errors"' in reply.get_data(as_text=True)
    assert status_of(database, team["x"]) == "approved" and status_events(database) == []


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_not_change_a_status(as_role, team, database, role):
    client = as_role(role)
    path = f"/admin/distributors/{team['x']}"
    reply = post(client, path + "/status", {"action": "suspend", "reason": "no"}, token_from=path)
    assert reply.status_code == 403
    assert status_of(database, team["x"]) == "approved" and status_events(database) == []


def test_without_the_csrf_token_nothing_changes(as_role, team, database):
    client = as_role("operator")
    reply = client.post(f"/admin/distributors/{team['x']}/status", data={"action": "suspend", "reason": "x"})
    assert reply.status_code == 400
    assert status_of(database, team["x"]) == "approved" and status_events(database) == []


def test_another_shops_distributor_is_not_found_and_never_changed(as_role, team, database, other_shop):
    with database.transaction() as session:
        elsewhere = add(session, other_shop.id, "ELSE", name="Elsewhere")
    client = as_role("admin")
    assert client.get(f"/admin/distributors/{elsewhere}").status_code == 404
    own = f"/admin/distributors/{team['x']}"
    for data in ({"action": "suspend", "reason": "not mine"}, {"action": "suspend", "reason": ""}):
        reply = post(client, f"/admin/distributors/{elsewhere}/status", data, token_from=own)
        assert reply.status_code == 404
    assert status_of(database, elsewhere) == "approved" and status_events(database) == []
    assert "Elsewhere" not in client.get("/admin/distributors/").get_data(as_text=True)
    assert rows(client.get("/admin/distributors/?q=INV-ELSE")) == []


def test_unknown_or_impossible_ids_are_not_found_and_bad_page_arguments_refused(as_role, team, database):
    client = as_role("viewer")
    with database.read() as session:
        buyer = session.scalar(
            select(Member.id).where(Member.display_name.is_(None)).order_by(Member.id.desc())
        )
    assert client.get(f"/admin/distributors/{buyer}").status_code == 404  # a buyer, not a distributor
    assert client.get(f"/admin/distributors/{2**64}").status_code == 404
    assert client.get(f"/admin/distributors/{team['x']}?before=x").status_code == 400
    assert client.get(f"/admin/distributors/{team['x']}?page=-1").status_code == 400


def test_the_page_reads_in_chinese(as_role, team):
    client = as_role("viewer", locale="zh_CN")
    html = client.get(f"/admin/distributors/{team['x']}").get_data(as_text=True)
    assert "待结算" in html and "可提现" in html and "直接邀请" in html
