"""The audit log page: every role reads it; logins and rule publishing show who and when; the
filters are exact; pages run newest first; another shop's events never show."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import select

import rules
from plugin.audit.models import AuditEvent
from plugin.shops import rulesets
from tests.admin.conftest import login

AUDIT = "/admin/audit/"


def add(
    database, shop_id, *, actor="ops@example.com", action="user.login", subject=("user", "5"), at=None, **data
):
    with database.transaction() as session:
        row = AuditEvent(
            shop_id=shop_id,
            actor=actor,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            data=data,
            created_at=at or datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        return row.id


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


@pytest.fixture
def other_shop(make_shop):
    return make_shop(name="Other shop")


@pytest.mark.parametrize("role", ["viewer", "operator", "finance", "admin"])
def test_every_role_reads_the_audit_log(role, as_role):
    client = as_role(role)
    reply = client.get(AUDIT)
    assert reply.status_code == 200
    assert '<th scope="col">Who</th>' in reply.get_data(as_text=True)


def test_a_stranger_is_sent_to_the_login_form(client):
    assert client.get(AUDIT).status_code == 302


def test_a_login_and_a_rule_publish_show_with_who_and_when(app, shop, database, make_user):
    email = make_user(shop.id, "operator")
    client = app.test_client()
    login(client, email)
    with database.transaction() as session:
        rulesets.publish(
            session, shop.id, rules.default_ruleset(max_tier=2), actor="rules@example.com", note="spring"
        )
    with database.read() as session:
        logged_in = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.login"))
        published = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "rules.published", AuditEvent.subject_id == "2")
        )
    table = rows(client.get(AUDIT).get_data(as_text=True))
    zone = ZoneInfo("Asia/Shanghai")
    when = {
        e.id: format_datetime(e.created_at, "medium", tzinfo=zone, locale="en")
        for e in (logged_in, published)
    }
    publish_row = next(r for r in table if "published commission rules" in r)
    assert "rules@example.com" in publish_row and when[published.id] in publish_row
    assert '<a href="/admin/rules/versions/2">rule set #2</a>' in publish_row
    assert (
        "<dt>note</dt><dd>spring</dd>" in publish_row and "<dt>previous_version</dt><dd>1</dd>" in publish_row
    )
    login_row = next(r for r in table if "logged in" in r)
    assert email in login_row and when[logged_in.id] in login_row
    assert table.index(publish_row) < table.index(login_row)  # newest first


def test_the_filters_are_exact(as_role, shop, database):
    client = as_role("viewer")
    day = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    add(
        database,
        shop.id,
        actor="ann@example.com",
        action="distributor.approved",
        subject=("member", "7"),
        at=day,
    )
    add(
        database,
        shop.id,
        actor="ann@example.com.cn",
        action="distributor.suspended",
        subject=("member", "77"),
        at=day,
    )
    add(
        database,
        shop.id,
        actor="bob@example.com",
        action="order.paid",
        subject=("order", "7"),
        at=day + timedelta(days=1),
    )

    def actors(query: str) -> list[str]:
        reply = client.get(AUDIT + "?" + query)
        assert reply.status_code == 200
        return [
            re.findall(r"<td>(.*?)</td>", r, re.S)[1]
            for r in rows(reply.get_data(as_text=True))
            if "<td>" in r and "colspan" not in r
        ]

    assert actors("actor=ann%40example.com") == ["ann@example.com"]
    assert actors("action=distributor.suspended") == ["ann@example.com.cn"]
    assert actors("subject_type=member&subject_id=7") == ["ann@example.com"]
    assert actors("subject_type=order&subject_id=7") == ["bob@example.com"]
    assert actors("date_from=2024-03-01&date_to=2024-03-01") == ["ann@example.com.cn", "ann@example.com"]
    assert actors("date_from=2024-03-02&date_to=2024-03-02") == ["bob@example.com"]
    assert actors("actor=nobody%40example.com") == []
    html = client.get(AUDIT + "?subject_type=order&subject_id=7").get_data(as_text=True)
    assert '<a href="/admin/orders/7">order #7</a>' in html
    member = client.get(AUDIT + "?subject_type=member&subject_id=7").get_data(as_text=True)
    assert '<a href="/admin/distributors/7">distributor #7</a>' in member
    options = client.get(AUDIT).get_data(as_text=True)
    assert 'value="distributor.suspended">suspended a distributor (distributor.suspended)</option>' in options


def test_unknown_actions_show_raw_and_details_read_as_key_value(as_role, shop, database):
    client = as_role("viewer")
    add(
        database,
        shop.id,
        action="payout.teleported",
        subject=("payout", "3"),
        amount=123456,
        region=["east", "west"],
    )
    add(
        database,
        shop.id,
        action="shop.settings_changed",
        subject=("shop", str(shop.id)),
        tier_depth={"before": 2, "after": 3},
    )
    html = client.get(AUDIT).get_data(as_text=True)
    assert "<code>payout.teleported</code>" in html and "payout #3" in html
    assert "<dt>amount</dt><dd>¥1,234.56</dd>" in html
    assert '<dt>region</dt><dd>["east", "west"]</dd>' in html
    assert "<dt>tier_depth</dt><dd>2 → 3</dd>" in html


def test_another_shops_events_never_show(as_role, shop, other_shop, database):
    client = as_role("admin")
    add(database, other_shop.id, actor="spy@other.example.com", action="secret.thing", subject=("order", "9"))
    for query in (
        "",
        "?actor=spy%40other.example.com",
        "?subject_type=order&subject_id=9",
        "?action=secret.thing",
    ):
        table = "".join(rows(client.get(AUDIT + query).get_data(as_text=True)))
        assert "spy@other.example.com" not in table and "secret.thing" not in table


def test_pages_run_newest_first_through_the_older_link(as_role, shop, database):
    client = as_role("viewer")
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(60):
        add(
            database,
            shop.id,
            actor=f"user{n:02d}@example.com",
            action="bulk.test",
            at=start + timedelta(minutes=n),
        )
    first = client.get(AUDIT + "?action=bulk.test").get_data(as_text=True)
    assert len(rows(first)) == 50
    assert re.findall(r"user(\d\d)@", first)[:2] == ["59", "58"]
    older = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "action=bulk.test" in older
    second = client.get(older).get_data(as_text=True)
    assert re.findall(r"user(\d\d)@", second) == [f"{n:02d}" for n in range(9, -1, -1)]
    assert 'rel="next"' not in second


def test_bad_filters_are_named_and_answered_400(as_role):
    client = as_role("viewer")
    reply = client.get(AUDIT + "?date_from=2024-03-02&date_to=2024-03-01")
    assert reply.status_code == 400
    assert 'id="date_to-errors"' in reply.get_data(as_text=True)
    assert client.get(AUDIT + "?date_from=yesterday").status_code == 400
    assert client.get(AUDIT + "?before=garbage").status_code == 400


def test_the_page_speaks_chinese(as_role, shop, database):
    client = as_role("viewer")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get(AUDIT).get_data(as_text=True)
    assert "审计日志" in html and '<th scope="col">操作人</th>' in html
