"""Withdrawal Approval, reading: who may open the tab, the queue with its filters, counts and
keyset pages (shop-local dates, a bounded number of statements), a withdrawal's evidence page
(masked identities only), and another shop's withdrawals never showing. The writes are in
test_withdrawals_review.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from admin.views.withdrawals import queue
from plugin.shops.models import Shop
from plugin.withdrawals import review
from plugin.withdrawals.payees import mask_account
from tests.admin.conftest import post
from tests.admin.withdrawal_kit import CARD, WECHAT, listed, text_of, waiting
from tests.plugin.withdrawals import kit

REVIEWERS = ("finance", "admin")


@pytest.fixture
def three(database, shop):
    """bob asks ¥2,000.00 (bank) three days before NOW, cat ¥50.00 at 00:30 of NOW's day in
    Shanghai (16:30 UTC the day before), ann ¥500.00 (wechat) at NOW; cat's is then rejected."""
    kit.configure(database, shop.id, channels=["wechat", "alipay", "bank"])
    bob = waiting(
        database,
        shop.id,
        "bob",
        200_000,
        channel="bank",
        number=kit.ID_B,
        real_name="李四",
        now=kit.NOW - timedelta(days=3),
    )
    early = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    cat = waiting(database, shop.id, "cat", 5_000, number=kit.ID_C, real_name="张三", now=early)
    ann = waiting(database, shop.id, "ann", 50_000)
    with database.transaction() as session:
        review.reject(session, session.get(Shop, shop.id), cat[1], "fin-1", "duplicate account")
    return {"ann": ann, "bob": bob, "cat": cat}


# Who may open it


@pytest.mark.parametrize("role", ("viewer", "operator"))
def test_viewer_and_operator_get_a_403_on_every_url_of_the_tab(as_role, three, database, role):
    client = as_role(role)
    withdrawal = three["ann"][1]
    assert client.get("/admin/withdrawals/").status_code == 403
    assert client.get(f"/admin/withdrawals/{withdrawal}").status_code == 403
    assert post(client, f"/admin/withdrawals/{withdrawal}/approve", token_from="/admin/").status_code == 403
    assert post(client, "/admin/withdrawals/bank-batch", token_from="/admin/").status_code == 403
    assert kit.withdrawal(database, withdrawal).status == "verified"
    nav = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/withdrawals/"' not in nav and 'href="/admin/tax/"' not in nav


@pytest.mark.parametrize("role", REVIEWERS)
def test_finance_and_admin_have_the_tabs(as_role, three, role):
    client = as_role(role)
    nav = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/withdrawals/">Withdrawal Approval</a>' in nav
    assert 'href="/admin/tax/">Monthly tax report</a>' in nav
    page = client.get("/admin/withdrawals/").get_data(as_text=True)
    assert 'href="/admin/withdrawals/" aria-current="page"' in page


# The queue


def test_the_queue_shows_what_waits_for_a_person_oldest_first_with_each_rows_money(as_role, three):
    reply = as_role("finance").get("/admin/withdrawals/")
    assert reply.status_code == 200
    assert listed(reply) == [three["bob"][1], three["ann"][1]]  # rejected cat's is not waiting
    text = text_of(reply)
    assert (
        f"#{three['ann'][1]} 王** Member {three['ann'][0]} ¥500.00 ¥0.00 — — WeChat Pay "
        f"{mask_account(WECHAT)} waiting for approval 0 of 1 11/23/26, 12:00 PM"
    ) in text
    assert f"#{three['bob'][1]} 李* Member {three['bob'][0]} ¥2,000.00" in text
    assert f"Bank transfer {mask_account(CARD)}" in text and CARD not in text
    assert "waiting for approval (2)" in text and "rejected by review (1)" in text
    assert "Any status (3)" in text and "paid to the payee (0)" in text


def test_each_status_link_and_any_status(as_role, three):
    client = as_role("finance")
    assert listed(client.get("/admin/withdrawals/?status=rejected")) == [three["cat"][1]]
    assert listed(client.get("/admin/withdrawals/?status=paid")) == []
    # any status: newest first, as history reads
    assert listed(client.get("/admin/withdrawals/?status=any")) == [
        three["ann"][1],
        three["cat"][1],
        three["bob"][1],
    ]


def test_filters_narrow_the_queue_and_the_counts(as_role, three):
    client = as_role("admin")
    ann, bob, cat = three["ann"][1], three["bob"][1], three["cat"][1]
    assert listed(client.get("/admin/withdrawals/?status=any&channel=bank")) == [bob]
    assert listed(client.get("/admin/withdrawals/?status=any&amount_from=500&amount_to=2000")) == [ann, bob]
    assert listed(client.get("/admin/withdrawals/?status=any&amount_from=500.01")) == [bob]
    assert listed(client.get("/admin/withdrawals/?status=any&amount_to=50")) == [cat]
    assert listed(client.get(f"/admin/withdrawals/?status=any&member={three['ann'][0]}")) == [ann]
    by_channel = text_of(client.get("/admin/withdrawals/?channel=wechat"))
    assert "waiting for approval (1)" in by_channel and "Any status (2)" in by_channel


def test_the_date_range_is_the_shops_calendar_days(as_role, three):
    client = as_role("finance")
    ann, bob, cat = three["ann"][1], three["bob"][1], three["cat"][1]
    # cat asked at 16:30 UTC on the 22nd: the 23rd already, in Shanghai
    on_the_23rd = "/admin/withdrawals/?status=any&date_from=2026-11-23&date_to=2026-11-23"
    assert listed(client.get(on_the_23rd)) == [ann, cat]
    assert listed(client.get("/admin/withdrawals/?status=any&date_to=2026-11-22")) == [bob]
    assert listed(client.get("/admin/withdrawals/?status=any&date_from=2026-11-21")) == [ann, cat]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("amount_from=ten", "amount_from"),
        ("amount_from=1.234", "amount_from"),
        ("amount_from=-5", "amount_from"),
        ("amount_from=20&amount_to=10", "amount_to"),
        ("member=12a", "member"),
        ("date_from=2026-13-01", "date_from"),
        ("date_from=2026-11-05&date_to=2026-11-04", "date_to"),
        ("status=lost", "status"),
        ("channel=paypal", "channel"),
    ],
)
def test_bad_filters_are_a_400_page_with_the_error_on_the_field(as_role, three, query, field):
    reply = as_role("finance").get(f"/admin/withdrawals/?{query}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert f'id="{field}-errors"' in html and f'aria-describedby="{field}-errors"' in html
    assert listed(reply) == []  # no list under a filter that could not be applied


def test_a_bad_page_position_is_a_400_page(as_role, three):
    reply = as_role("finance").get("/admin/withdrawals/?after=x1")
    assert reply.status_code == 400 and listed(reply) == []
    assert "start again from the first page" in reply.get_data(as_text=True)


def test_pages_follow_each_other_by_position_both_ways(as_role, three, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 1)
    client = as_role("finance")
    ann, bob, cat = three["ann"][1], three["bob"][1], three["cat"][1]

    def link(reply, rel):
        found = re.search(rf'rel="{rel}" href="([^"]+)"', reply.get_data(as_text=True))
        return found.group(1).replace("&amp;", "&") if found else None

    first = client.get("/admin/withdrawals/?status=any&channel=")
    assert listed(first) == [ann] and link(first, "prev") is None
    second = client.get(link(first, "next"))
    assert listed(second) == [cat] and "status=any" in link(second, "next")
    third = client.get(link(second, "next"))
    assert listed(third) == [bob] and link(third, "next") is None
    assert listed(client.get(link(third, "prev"))) == [cat]


def test_a_queue_page_runs_the_same_few_statements_however_many_rows(as_role, three, database, shop):
    client = as_role("finance")
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def statements_for(path: str) -> int:
        client.get(path)  # warm: the user and shop are read the same way on every page
        statements.clear()
        assert client.get(path).status_code == 200
        return len(statements)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        one = statements_for("/admin/withdrawals/?channel=bank")
        all_of_them = statements_for("/admin/withdrawals/?status=any")
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert one == all_of_them
    assert all_of_them <= 9  # SQLite counts its BEGINs: the user, the shop, then 4 reads


def test_another_shops_withdrawals_never_show(as_role, three, database, other_shop):
    _, theirs = waiting(database, other_shop.id, "zed", 30_000)
    client = as_role("finance")
    assert theirs not in listed(client.get("/admin/withdrawals/?status=any"))
    assert client.get(f"/admin/withdrawals/{theirs}").status_code == 404
    assert client.get("/admin/withdrawals/99999999").status_code == 404
    assert client.get(f"/admin/withdrawals/{2**64}").status_code == 404
    assert post(client, f"/admin/withdrawals/{2**64}/approve", token_from="/admin/").status_code == 404
    assert (
        post(client, f"/admin/withdrawals/{2**64}/reject", {"reason": "x"}, token_from="/admin/").status_code
        == 404
    )
    reply = post(client, f"/admin/withdrawals/{theirs}/approve", token_from="/admin/withdrawals/")
    assert reply.status_code == 404 and kit.withdrawal(database, theirs).status == "verified"


# A withdrawal's page


def test_the_page_shows_the_evidence_with_identities_masked(as_role, three, database, shop):
    member, withdrawal = three["ann"]
    another = kit.ask(database, shop.id, member, 10_000)
    reply = as_role("finance").get(f"/admin/withdrawals/{withdrawal}")
    html, text = reply.get_data(as_text=True), text_of(reply)
    assert reply.status_code == 200
    assert "Real name 王**" in text and "ID number 110***********002X" in text
    assert f"Account (now) {mask_account(WECHAT)}" in text and "Verification identity verified" in text
    assert "Checked by fake chk-1" in text
    assert kit.ID_A not in html and "王小明" not in html and WECHAT not in html
    # balances: ¥10,000.00 credited, ¥500.00 and ¥100.00 withdrawing
    assert "Available ¥9,400.00" in text and "Withdrawing ¥600.00" in text
    assert "Withdrawal requested" in text and "Commission earned" not in text  # the kit credits "test"
    assert f'href="/admin/withdrawals/{another}"' in html and f"#{withdrawal} (this one)" in text
    assert "No approval yet." in text and "No payout yet" in text and "Approvals: 0 of 1." in text
    assert "asked for the withdrawal" in text and "the payee's identity was verified" in text
    assert f"member:{member}" in text
    assert f'action="/admin/withdrawals/{withdrawal}/approve"' in html
    assert f'action="/admin/withdrawals/{withdrawal}/reject"' in html


def test_a_decided_withdrawal_offers_no_review(as_role, three):
    reply = as_role("finance").get(f"/admin/withdrawals/{three['cat'][1]}")
    html, text = reply.get_data(as_text=True), text_of(reply)
    assert "/approve" not in html and "/reject" not in html
    assert "Reason duplicate account" in text and "fin-1 rejected" in text


def test_the_pages_read_in_chinese(as_role, three):
    client = as_role("finance", locale="zh_CN")
    queue_page = text_of(client.get("/admin/withdrawals/"))
    assert "提现审核" in queue_page and "待审核 (2)" in queue_page and "微信支付" in queue_page
    assert "Withdrawal Approval" not in queue_page
    detail = text_of(client.get(f"/admin/withdrawals/{three['ann'][1]}"))
    assert "收款人" in detail and "身份已核验" in detail and "审核记录" in detail
