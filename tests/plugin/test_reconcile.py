"""``fenxiao reconcile``: a real month passes, and each kind of discrepancy is found (exit 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text, update

from adapters.payouts import base
from plugin import db, keys
from plugin.commissions import settlement
from plugin.commissions.models import Commission
from plugin.ledger import journal
from plugin.ledger.models import AccountKind as K
from plugin.ledger.models import LedgerEntry, LedgerTransaction
from plugin.orders.models import Order
from plugin.reports import refresh
from plugin.reports.figures import day_figures
from plugin.reports.ledger_checks import ledger_days
from plugin.reports.models import DayFigures
from plugin.shops.models import Shop
from plugin.withdrawals import flow, review
from plugin.withdrawals.models import Payout
from tests.plugin import shopify_orders as so
from tests.plugin.withdrawals.kit import NOW, FakeGateway, ask, credit, distributor, enter_payee, outside

CST = timezone(timedelta(hours=8))
PAID = datetime(2026, 11, 5, 12, tzinfo=CST)
LATER = datetime(2026, 12, 31, tzinfo=CST)  # the commissions are settled by then
SWEPT = datetime(2026, 12, 1, 1, tzinfo=UTC)  # the figures sweep ran after the month's end
DAY = date(2026, 11, 23)  # NOW in Shanghai: every posting of the month


@dataclass
class Month:
    shop_id: int
    member: int
    payouts: list[tuple[str, str, int]]  # (out_no, status, net): two succeeded, then one failed


@pytest.fixture
def month(make_shop, database, send, monkeypatch) -> Month:
    """November 2026 of a shop: two completed orders whose commissions are settled, two paid
    withdrawals and one whose payout failed, all posted on 23 November; then the figures swept."""
    monkeypatch.setattr(db, "utcnow", lambda: NOW)  # the ledger's posting times
    monkeypatch.setattr(refresh, "utcnow", lambda: SWEPT)
    shop = make_shop(tier_depth=1, after_sales_days=0)
    member = distributor(database, shop.id, "X")  # invite code INV-X, the orders' ref
    for n, amount in enumerate([10_000, 20_000], 1):
        order = so.order(n, PAID, [amount], customer=100 + n, fulfillment_status="fulfilled")
        assert send(shop, "orders/fulfilled", order).status_code == 200
    assert settlement.settle_due(database, LATER) == 2
    credit(database, shop.id, member, 1_000_000)
    enter_payee(database, shop.id, member)
    gateway = FakeGateway(script=[base.SUCCEEDED, base.SUCCEEDED, base.FAILED])
    for amount, status in [(300_000, "paid"), (200_000, "paid"), (100_000, "failed")]:
        withdrawal_id = ask(database, shop.id, member, amount)
        assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == "verified"
        with database.transaction() as session:
            review.approve(session, session.get(Shop, shop.id), withdrawal_id, "fin-1")
        assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == status
    refresh.refresh_shop(database, shop.id)
    with database.transaction() as session:
        payouts = [
            (p.out_no, p.status, p.amount) for p in session.scalars(select(Payout).order_by(Payout.id))
        ]
    return Month(shop.id, member, payouts)


def write(tmp_path, name: str, rows: list[tuple[str, str, str]], *, bom: bool = False) -> str:
    text = "out_no,status,amount,reference\n" + "".join(f"{o},{s},{a},ref-{o}\n" for o, s, a in rows)
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return str(path)


def lines_of(month: Month) -> list[tuple[str, str, str]]:
    """The month's payouts as the gateway's statement lists them."""
    words = {"succeeded": "success", "failed": "failed"}
    return [(out_no, words[status], so.fen(net)) for out_no, status, net in month.payouts]


def reconcile(runner, month: Month, *args: str):
    return runner("reconcile", "--shop", str(month.shop_id), "--month", "2026-11", *args)


def found(result) -> dict[str, list[str]]:
    """Each check's discrepancy kinds, from ``--json``."""
    report = json.loads(result.output)
    return {check["name"]: [d["kind"] for d in check["discrepancies"]] for check in report["checks"]}


CLEAN = {"ledger": [], "payouts": [], "ceiling": []}


def forge(database, shop_id: int, key: str, legs: list[tuple[int, K, int, str]], posted_at=NOW) -> int:
    """Insert a ledger transaction straight into the tables (member, kind, amount, currency per
    leg), as no code of the project would: what reconciliation is there to catch. On PostgreSQL
    the ledger's triggers are switched off for it (a restore or a hand edit can do the same)."""
    with database.transaction() as session:
        if database.dialect == "postgresql":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        (txn_id,) = keys.new_ids(session, LedgerTransaction, 1)
        session.execute(
            insert(LedgerTransaction).values(
                id=txn_id, shop_id=shop_id, key=key, kind="forged", memo="", posted_at=posted_at
            )
        )
        for member, kind, amount, currency in legs:
            account = journal.account(session, shop_id, member, kind, "CNY")
            session.execute(
                insert(LedgerEntry).values(
                    shop_id=shop_id,
                    transaction_id=txn_id,
                    account_id=account.id,
                    amount=amount,
                    currency=currency,
                )
            )
        return txn_id


def test_a_clean_month_passes_with_its_statements_split_over_two_files(month, runner, tmp_path):
    (first, second, failed) = lines_of(month)
    wechat = write(
        tmp_path, "wechat.csv", [(first[0], "成功", first[2]), (failed[0], "失败", failed[2])], bom=True
    )
    other = write(tmp_path, "other.csv", [(second[0], "processing", second[2]), second])  # settled later
    result = reconcile(runner, month, "--statement", wechat, "--statement", other)
    assert result.exit_code == 0, result.output
    # 32 entries: 2 orders accrued and settled (8), a credit (2), 3 holds (6), 3 sends of net and
    # tax (9), 2 paid (4) and a return of net and tax to available (3)
    assert result.output.splitlines() == [
        f"shop {month.shop_id} (Test shop), 2026-11 in Asia/Shanghai, amounts in CNY",
        "check    result  detail",
        "ledger   OK      32 entries up to 2026-11-30 checked; 30 days of stored figures compared",
        "payouts  OK      3 payouts resolved (2 succeeded, 1 failed); 4 statement lines (3 payouts) compared",
        "ceiling  OK      2 orders completed: commission 30.00 CNY on 300.00 CNY paid, share 10.00%,"
        " ceiling 50.00%",
    ]


def rows(database) -> dict[str, int]:
    with database.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (LedgerTransaction, LedgerEntry, DayFigures, Payout)
        }


def test_without_statements_payouts_are_checked_against_the_ledger_only(month, runner, database):
    before = rows(database)
    result = reconcile(runner, month, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["ok"], report["discrepancies"], report["currency"]) == (True, 0, "CNY")
    assert (report["start"], report["end"]) == ("2026-10-31T16:00:00+00:00", "2026-11-30T16:00:00+00:00")
    payouts = report["checks"][1]
    assert payouts["detail"] == "3 payouts resolved (2 succeeded, 1 failed); statements were not given"
    assert rows(database) == before  # reconciling writes nothing
    assert (before["ledger_transaction"], before["ledger_entry"], before["payout"]) == (14, 32, 3)


def test_an_unbalanced_transaction_is_found(month, runner, database):
    txn_id = forge(database, month.shop_id, "forged:1", [(0, K.COMMISSION_EXPENSE, 500, "CNY")])
    result = reconcile(runner, month)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[2].startswith("ledger   2 discrepancies  33 entries up to 2026-11-30 checked")
    assert lines[-3:] == [
        "ledger: Ledger integrity",
        f"  unbalanced_transaction: transaction {txn_id} (forged:1) does not balance:"
        " its CNY entries sum to 5.00 CNY",
        "  shop_total_not_zero: the shop's CNY entries sum to 5.00 CNY, not zero",
    ]
    assert found(reconcile(runner, month, "--json")) == {
        **CLEAN,
        "ledger": ["unbalanced_transaction", "shop_total_not_zero"],
    }


def test_an_unbalanced_transaction_after_the_months_end_belongs_to_the_next_month(month, runner, database):
    december = datetime(2026, 11, 30, 16, tzinfo=UTC)  # 1 December 00:00 in Shanghai
    forge(database, month.shop_id, "forged:december", [(0, K.COMMISSION_EXPENSE, 500, "CNY")], december)
    assert reconcile(runner, month).exit_code == 0
    result = runner("reconcile", "--shop", str(month.shop_id), "--month", "2026-12", "--json")
    assert result.exit_code == 1
    (ledger, payouts, ceiling) = json.loads(result.output)["checks"]
    assert [d["kind"] for d in ledger["discrepancies"]] == ["unbalanced_transaction", "shop_total_not_zero"]
    assert (
        ledger["detail"]
        == "33 entries up to 2026-12-31 checked; 0 days of stored figures compared, 31 not swept yet"
    )
    assert payouts["detail"] == "0 payouts resolved (0 succeeded, 0 failed); statements were not given"
    assert ceiling["detail"] == (
        "0 orders completed: commission 0.00 CNY on 0.00 CNY paid, share n/a, ceiling 50.00%"
    )


def test_an_impossible_balance_and_entries_in_a_foreign_currency_are_found(month, runner, database):
    arrears = [(month.member, K.ARREARS, -700, "CNY"), (0, K.COMMISSION_EXPENSE, 700, "CNY")]
    forge(database, month.shop_id, "forged:arrears", arrears)  # balanced, but arrears below zero
    mixed = [(0, K.TAX_WITHHELD, -100, "USD"), (0, K.WITHDRAWAL_FEES, 100, "USD")]
    mixed += [(0, K.COMMISSION_EXPENSE, 1, "CNY"), (0, K.TAX_WITHHELD, -1, "CNY")]
    txn_id = forge(database, month.shop_id, "forged:usd", mixed)  # balanced per currency, USD on CNY
    result = reconcile(runner, month, "--json")
    assert result.exit_code == 1
    (ledger, payouts, ceiling) = json.loads(result.output)["checks"]
    assert (payouts["ok"], ceiling["ok"]) == (True, True)
    assert [
        (d["kind"], d.get("member_id"), d.get("account_kind"), d.get("balance"), d.get("entries"))
        for d in ledger["discrepancies"]
    ] == [
        ("mixed_currencies", None, None, None, None),
        ("wrong_sign", month.member, "arrears", -700, None),
        ("foreign_entry", 0, None, None, 1),
        ("foreign_entry", 0, None, None, 1),
    ]
    assert ledger["discrepancies"][0]["message"] == f"transaction {txn_id} (forged:usd) mixes CNY and USD"
    assert ledger["discrepancies"][1]["message"].endswith(
        "arrears CNY) has a balance of -7.00 CNY at the month's end (it can never be below zero)"
    )


def test_statement_lines_missing_extra_or_different_are_found(month, runner, tmp_path):
    (first, second, failed) = lines_of(month)
    statement = write(
        tmp_path,
        "wechat.csv",
        [
            (first[0], "success", so.fen(month.payouts[0][2] + 1)),  # one fen more
            (failed[0], "成功", failed[2]),  # paid, says the gateway
            ("FX9W9Rdeadbeef", "success", "1.00"),  # not ours
        ],  # the second payout is missing
    )
    result = reconcile(runner, month, "--statement", statement)
    assert result.exit_code == 1
    net = {out_no: net for out_no, _, net in month.payouts}
    assert result.output.splitlines()[-5:] == [
        "payouts: Payouts vs ledger and gateways",
        f"  amount_differs: wechat.csv:2: {first[0]} is {so.fen(net[first[0]] + 1)} CNY in the statement,"
        f" {so.fen(net[first[0]])} CNY in fenxiao",
        f"  status_differs: wechat.csv:3: {failed[0]} is success in the statement, failed in fenxiao",
        "  statement_unknown: wechat.csv:4: FX9W9Rdeadbeef (success, 1.00 CNY)"
        f" is no payout of shop {month.shop_id}",
        f"  statement_missing: {second[0]} (wechat, {second[2]} CNY)"
        " succeeded in fenxiao but is in no statement",
    ]
    assert found(reconcile(runner, month, "--statement", statement, "--json")) == {
        **CLEAN,
        "payouts": ["amount_differs", "status_differs", "statement_unknown", "statement_missing"],
    }


def test_payouts_the_ledger_does_not_match_are_found(month, runner, database):
    (first, _, failed) = month.payouts
    with database.transaction() as session:
        session.execute(update(Payout).where(Payout.out_no == first[0]).values(amount=first[2] + 1))
        failed_withdrawal = session.scalar(select(Payout.withdrawal_id).where(Payout.out_no == failed[0]))
        session.execute(
            update(LedgerTransaction)
            .where(LedgerTransaction.key == f"withdrawal:{failed_withdrawal}:return")
            .values(key=f"withdrawal:{failed_withdrawal}:returned")
        )
    orphan = forge(
        database,
        month.shop_id,
        "withdrawal:999999:paid",
        [(0, K.PAYOUT_CLEARING, 100, "CNY"), (0, K.TAX_WITHHELD, -100, "CNY")],
    )
    result = reconcile(runner, month, "--json")
    assert result.exit_code == 1
    (_, payouts, _) = json.loads(result.output)["checks"]
    assert [(d["kind"], d.get("out_no") or d["key"]) for d in payouts["discrepancies"]] == [
        ("paid_posting_amount", first[0]),
        ("return_missing", failed[0]),
        ("paid_posting_orphan", "withdrawal:999999:paid"),
    ]
    assert payouts["discrepancies"][2]["transaction_id"] == orphan
    assert payouts["discrepancies"][0]["posted"] == first[2]


def test_commission_above_the_ceiling_lists_the_worst_orders(month, runner, database):
    with database.transaction() as session:
        order_id = session.scalar(select(Order.id).where(Order.external_id == "1"))
        session.execute(update(Commission).where(Commission.order_id == order_id).values(amount=20_000))
    result = reconcile(runner, month)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[4] == (
        "ceiling  1 discrepancies  2 orders completed: commission 220.00 CNY on 300.00 CNY paid,"
        " share 73.33%, ceiling 50.00%"
    )
    assert lines[-3:] == [
        "ceiling: Commission ceiling",
        "  ceiling_exceeded: commission 220.00 CNY is 73.33% of 300.00 CNY paid, above the ceiling of 50.00%",
        f"    order 1 (id {order_id}): commission 200.00 on 100.00 paid, 200.00%",
    ]
    assert found(reconcile(runner, month, "--json")) == {**CLEAN, "ceiling": ["ceiling_exceeded"]}


def test_the_months_ledger_days_are_day_figures_ledger_changes(month, database):
    with database.read() as session:
        shop = session.get(Shop, month.shop_id)
        days = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
        expected = {}
        for day in days:
            figures = day_figures(session, shop, day, ledger=True)
            expected[day] = {"payable_change": figures.payable_change, "paid_change": figures.paid_change}
        assert ledger_days(session, shop, days) == expected
        assert expected[DAY]["paid_change"] == sum(
            net for _, status, net in month.payouts if status == "succeeded"
        )


def test_a_stored_day_figure_that_differs_from_the_ledger_is_found(month, runner, database):
    with database.transaction() as session:
        session.execute(
            update(DayFigures)
            .where(DayFigures.shop_id == month.shop_id, DayFigures.day == DAY)
            .values(paid_change=DayFigures.paid_change + 1)
        )
        paid = session.scalar(select(DayFigures.paid_change).where(DayFigures.day == DAY)) - 1
    result = reconcile(runner, month)
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "ledger: Ledger integrity",
        f"  day_figures_differ: 2026-11-23: paid_change stored {so.fen(paid + 1)} CNY,"
        f" ledger {so.fen(paid)} CNY",
    ]
    assert found(reconcile(runner, month, "--json")) == {**CLEAN, "ledger": ["day_figures_differ"]}


@pytest.mark.parametrize(
    ("month", "statement", "message"),
    [
        ("2026-13", None, "Invalid value for --month: '2026-13' is not a month written YYYY-MM"),
        ("2026-1", None, "Invalid value for --month: '2026-1' is not a month written YYYY-MM"),
        ("Nov 2026", None, "Invalid value for --month: 'Nov 2026' is not a month written YYYY-MM"),
        (
            "2026-11",
            ("FX1", "paid", "1.00"),
            "Invalid value for --statement: bad.csv:2: unknown status 'paid' (success, failed or processing)",
        ),
        (
            "2026-11",
            ("FX1", "success", "1.001"),
            "Invalid value for --statement: bad.csv:2: amount '1.001': '1.001' has more decimal places"
            " than CNY allows",
        ),
    ],
)
def test_bad_arguments_exit_2(runner, shop, tmp_path, month, statement, message):
    args = ["--statement", write(tmp_path, "bad.csv", [statement])] if statement else []
    result = runner("reconcile", "--shop", str(shop.id), "--month", month, *args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: {message}"


def test_an_unknown_shop_or_statement_file_exits_2(runner, shop, tmp_path):
    unknown = runner("reconcile", "--shop", str(shop.id + 1), "--month", "2026-11")
    assert unknown.exit_code == 2
    assert unknown.output.splitlines()[-1] == f"Error: Invalid value for --shop: no shop {shop.id + 1}"
    missing = str(tmp_path / "no.csv")
    result = runner("reconcile", "--shop", str(shop.id), "--month", "2026-11", "--statement", missing)
    assert result.exit_code == 2
    assert "does not exist" in result.output
