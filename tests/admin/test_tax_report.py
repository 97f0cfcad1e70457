"""The monthly tax report: finance and admin only, each person's month masked on the page with
the totals, the month picked (the shop's current month by default), and the CSV for the filing
with names and ID numbers in full, every download audited with its month."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from plugin.audit.models import AuditEvent
from plugin.db import utcnow
from plugin.reports.month import current_month
from plugin.shops.models import Shop
from plugin.tax.withholding import labour_remuneration_tax
from tests.admin.conftest import post
from tests.admin.withdrawal_kit import paid, text_of
from tests.plugin.withdrawals import kit

MONTH = "2026-11"  # kit.NOW's


@pytest.fixture
def people(database, shop):
    """王小明 paid ¥3,000.00 and ¥4,000.00 through two distributor accounts, 李四 ¥1,000.00."""
    ann, _ = paid(database, shop.id, "ann", 300_000)
    ann_2, _ = paid(database, shop.id, "ann-2", 400_000, account="o-openid-2")
    bob, _ = paid(database, shop.id, "bob", 100_000, number=kit.ID_B, real_name="李四", account="o-openid-3")
    return {"ann": ann, "ann_2": ann_2, "bob": bob}


def downloads(database) -> list[AuditEvent]:
    with database.transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == "tax.report_downloaded").order_by(AuditEvent.id)
        return list(session.scalars(query))


def fen(amount: int) -> str:
    return f"¥{amount // 100:,}.{amount % 100:02d}"


@pytest.mark.parametrize("role", ("viewer", "operator"))
def test_viewer_and_operator_may_not_see_or_download_the_report(as_role, people, database, role):
    client = as_role(role)
    assert client.get(f"/admin/tax/?month={MONTH}").status_code == 403
    assert post(client, "/admin/tax/download", {"month": MONTH}, token_from="/admin/").status_code == 403
    assert downloads(database) == []


@pytest.mark.parametrize("role", ("finance", "admin"))
def test_the_month_shows_each_person_masked_with_the_totals(as_role, people, role):
    reply = as_role(role).get(f"/admin/tax/?month={MONTH}")
    html, text = reply.get_data(as_text=True), text_of(reply)
    assert reply.status_code == 200
    first, second = labour_remuneration_tax(700_000), labour_remuneration_tax(100_000)
    assert (
        f"王** 110***********002X {people['ann']} , {people['ann_2']} 2 {fen(700_000)} {fen(first)} "
        f"{fen(700_000 - first)}"
    ) in text
    assert f"李* {kit.ID_B[:3]}***********{kit.ID_B[-4:]} {people['bob']} 1 {fen(100_000)}" in text
    assert (
        f"Total (people: 2) 3 {fen(800_000)} {fen(first + second)} {fen(800_000 - first - second)}"
    ) in text
    assert kit.ID_A not in html and kit.ID_B not in html and "王小明" not in html
    assert f'href="/admin/distributors/{people["bob"]}"' in html
    assert 'href="/admin/tax/?month=2026-10"' in html and 'href="/admin/tax/?month=2026-12"' in html


def test_the_month_defaults_to_the_shops_current_month(as_role, people, database, shop):
    with database.transaction() as session:
        current = current_month(session.get(Shop, shop.id), utcnow())
    html = as_role("finance").get("/admin/tax/").get_data(as_text=True)
    assert f'value="{current}"' in html and f'name="month" type="hidden" value="{current}"' in html


def test_a_month_nobody_was_paid_in_is_an_empty_report(as_role, people):
    text = text_of(as_role("finance").get("/admin/tax/?month=2026-10"))
    assert "Nobody was paid in this month." in text and "Total" not in text


@pytest.mark.parametrize("month", ("2026-13", "November", "2026-00"))
def test_a_bad_month_is_a_400_on_its_field(as_role, people, month):
    reply = as_role("finance").get(f"/admin/tax/?month={month}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert 'id="month-errors"' in html and "Enter a month as YYYY-MM." in html and "王**" not in html


@pytest.mark.parametrize("role", ("finance", "admin"))
def test_the_csv_holds_names_and_id_numbers_in_full_and_each_download_is_audited(
    as_role, people, database, shop, role
):
    client = as_role(role)
    reply = post(client, "/admin/tax/download", {"month": MONTH}, token_from=f"/admin/tax/?month={MONTH}")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers["Content-Disposition"] == f'attachment; filename="tax-{shop.id}-{MONTH}.csv"'
    assert reply.headers["Cache-Control"] == "no-store"
    lines = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert [(r["real_name"], r["id_number"], r["income"], r["payouts"]) for r in lines] == [
        ("王小明", kit.ID_A, "7000.00", "2"),
        ("李四", kit.ID_B, "1000.00", "1"),
    ]
    assert lines[0]["distributors"] == f"{people['ann']} {people['ann_2']}"
    assert [(e.shop_id, e.actor, e.subject_type, e.data) for e in downloads(database)] == [
        (shop.id, client.email, "shop", {"month": MONTH})
    ]
    post(client, "/admin/tax/download", {"month": "2026-10"}, token_from="/admin/tax/")
    assert [e.data["month"] for e in downloads(database)] == [MONTH, "2026-10"]


def test_a_download_of_a_bad_month_or_without_the_token_writes_nothing(as_role, people, database):
    client = as_role("finance")
    refused = post(client, "/admin/tax/download", {"month": "2026-13"}, token_from="/admin/tax/")
    assert refused.status_code == 400 and "Enter a month as YYYY-MM." in refused.get_data(as_text=True)
    assert client.post("/admin/tax/download", data={"month": MONTH}).status_code == 400
    assert downloads(database) == []


def test_the_report_reads_in_chinese(as_role, people):
    text = text_of(as_role("finance", locale="zh_CN").get(f"/admin/tax/?month={MONTH}"))
    assert "月度个税报表" in text and "代扣个税" in text and "合计（2 人）" in text and "下载 CSV" in text
