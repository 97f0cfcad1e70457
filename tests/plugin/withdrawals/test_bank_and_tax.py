"""Bank payouts by batch file through the domain, and the monthly tax report."""

from __future__ import annotations

import csv
import io

import pytest

from adapters.payouts.bank import BankFileError
from plugin.shops.models import Shop
from plugin.tax import report
from plugin.tax.withholding import labour_remuneration_tax
from plugin.withdrawals import batches, flow, review
from tests.plugin.withdrawals.kit import (
    ID_B,
    KEYS,
    NOW,
    ask,
    balances,
    configure,
    credit,
    distributor,
    enter_payee,
    outside,
    withdrawal,
)


@pytest.fixture
def shop(shop, database):
    configure(database, shop.id, channels=["wechat", "alipay", "bank"])
    return shop


def paying_by_bank(database, shop, name, amount, number, person, expect="paying"):
    member = distributor(database, shop.id, name)
    credit(database, shop.id, member, 1_000_000)
    enter_payee(
        database,
        shop.id,
        member,
        channel="bank",
        account=number,
        number=person,
        name="王小明" if person != ID_B else "李四",
    )
    withdrawal_id = ask(database, shop.id, member, amount)
    flow.advance(database, outside(), withdrawal_id, NOW)
    with database.transaction() as session:
        review.approve(session, session.get(Shop, shop.id), withdrawal_id, "fin-1")
    assert flow.advance(database, outside(), withdrawal_id, NOW) == expect
    return member, withdrawal_id


def export(database, shop_id, again=False):
    with database.transaction() as session:
        return batches.export(session, session.get(Shop, shop_id), KEYS, "fin-1", again=again)


def apply(database, shop_id, text):
    with database.transaction() as session:
        return batches.import_results(session, session.get(Shop, shop_id), text.encode(), "fin-1")


def rows(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_bank_batch_goes_out_once_and_its_results_settle_each_payout(database, shop):
    ann, first = paying_by_bank(database, shop, "ann", 300_000, "6222020200112233445", "11010519491231002X")
    bob, second = paying_by_bank(database, shop, "bob", 200_000, "6222020200112233446", ID_B)
    data, count = export(database, shop.id)
    lines = rows(data)
    assert count == 2 and [line["payee_account"] for line in lines] == [
        "6222020200112233445",
        "6222020200112233446",
    ]
    assert lines[0]["amount"] == f"{(300_000 - labour_remuneration_tax(300_000)) / 100:.2f}"
    assert export(database, shop.id)[1] == 0  # nothing is exported twice
    assert [line["out_no"] for line in rows(export(database, shop.id, again=True)[0])] == [
        line["out_no"] for line in lines
    ]
    result = "out_no,status,bank_reference,reason\n" + "\n".join(
        [f"{lines[0]['out_no']},成功,B-1,", f"{lines[1]['out_no']},失败,,账户名不符"]
    )
    assert apply(database, shop.id, result) == {"succeeded": 1, "failed": 1, "pending": 0}
    assert withdrawal(database, first).status == "paid"
    assert (withdrawal(database, second).status, withdrawal(database, second).reason) == (
        "failed",
        "账户名不符",
    )
    assert balances(database, shop.id, bob)["available"] == 1_000_000
    assert apply(database, shop.id, result) == {
        "succeeded": 1,
        "failed": 1,
        "pending": 0,
    }  # again: nothing moves
    assert balances(database, shop.id, ann)["paid"] == 300_000 - labour_remuneration_tax(300_000)


def test_a_refused_result_file_applies_nothing(database, shop):
    _, first = paying_by_bank(database, shop, "ann", 300_000, "6222020200112233445", "11010519491231002X")
    (line,) = rows(export(database, shop.id)[0])
    bad = (
        f"out_no,status,bank_reference,reason\n{line['out_no']},success,B-1,\nFX999W1Rdeadbeef,success,B-2,\n"
    )
    with pytest.raises(BankFileError, match="line 3"):
        apply(database, shop.id, bad)
    assert withdrawal(database, first).status == "paying"


def test_the_monthly_report_sums_each_persons_payouts(database, shop):
    paying_by_bank(database, shop, "ann", 300_000, "6222020200112233445", "11010519491231002X")
    # the same person through another account waits for the bank's answer on the first
    args = ("ann-2", 400_000, "6222020200112233447", "11010519491231002X")
    _, second = paying_by_bank(database, shop, *args, expect="approved")
    paying_by_bank(database, shop, "bob", 100_000, "6222020200112233446", ID_B)
    (line, _) = rows(export(database, shop.id)[0])
    apply(database, shop.id, f"out_no,status,bank_reference,reason\n{line['out_no']},成功,B-1,\n")
    assert flow.advance(database, outside(), second, NOW) == "paying"
    with database.transaction() as session:
        shop_row = session.get(Shop, shop.id)
        people = report.month_rows(session, shop_row, "2026-11")
        data = report.month_csv(session, shop_row, "2026-11", KEYS)
        assert report.month_rows(session, shop_row, "2026-10") == []
    assert [(p.masked_name, p.income, p.tax, p.payouts) for p in people] == [
        ("王**", 700_000, labour_remuneration_tax(700_000), 2),
        ("李*", 100_000, labour_remuneration_tax(100_000), 1),
    ]
    first = rows(data)[0]
    assert (first["real_name"], first["id_number"], first["income"], first["payouts"]) == (
        "王小明",
        "11010519491231002X",
        "7000.00",
        "2",
    )
    with pytest.raises(Exception, match="YYYY-MM"):
        report.check_month("2026-13")
