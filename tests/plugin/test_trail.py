"""The journal and the audit trail of one order's whole life, to the entry: what an accountant
and an auditor read. Paid, completed, half a line refunded before settlement, settled, paid
out, then the other line refunded after settlement (arrears)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.cli.demo import seed_chain
from plugin.commissions import settlement
from plugin.commissions.models import Commission
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import Account, LedgerEntry, LedgerTransaction
from plugin.orders.models import Order, OrderLine, Refund
from tests.conftest import fixture_bytes, fixture_json

ORDER = "820982911946154508"
TEE, CAP = "487817672276298554", "487817672276298555"


def cap_refund() -> dict:
    refund = fixture_json("shopify", "refunds_create")
    refund["id"] += 1
    item = refund["refund_line_items"][0]
    item.update(id=item["id"] + 1, line_item_id=int(CAP))
    item["subtotal_set"]["shop_money"]["amount"] = "100.00"
    refund["transactions"][0]["amount"] = "100.00"
    return refund


def pay_out(database, shop_id, member_ids):
    with database.transaction() as session:
        for member_id in member_ids:
            available = journal.account(session, shop_id, member_id, "available", "CNY")
            paid = journal.account(session, shop_id, member_id, "paid", "CNY")
            amount = journal.balance(session, available)
            journal.post(
                session,
                shop_id,
                f"payout:{member_id}",
                "payout",
                [journal.debit(available, amount), journal.credit(paid, amount)],
            )


def test_the_journal_and_the_audit_trail_of_an_orders_life(make_shop, send, database):
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    d, c = chain["D"], chain["C"]
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled"))
    send(shop, "refunds/create", fixture_bytes("shopify", "refunds_create"))
    assert settlement.count_due(database, datetime.fromisoformat("2026-11-20T01:59:59+00:00")) == 0
    assert settlement.count_due(database, datetime.fromisoformat("2026-11-20T02:00:00+00:00")) == 4
    assert settlement.settle_due(database, datetime.fromisoformat("2026-11-21T00:00:00+00:00")) == 4
    assert settlement.count_due(database, datetime.fromisoformat("2026-11-21T00:00:00+00:00")) == 0
    pay_out(database, shop.id, [d, c])
    send(shop, "refunds/create", cap_refund())

    with database.transaction() as session:
        ids = {
            (tier, line): commission_id
            for commission_id, tier, line in session.execute(
                select(Commission.id, Commission.tier, OrderLine.external_id).join(
                    OrderLine, OrderLine.id == Commission.order_line_id
                )
            )
        }
        transactions = [
            (
                txn.key,
                txn.kind,
                txn.memo,
                sorted(
                    session.execute(
                        select(Account.member_id, Account.kind, LedgerEntry.amount)
                        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
                        .where(LedgerEntry.transaction_id == txn.id)
                    ).all()
                ),
            )
            for txn in session.scalars(
                select(LedgerTransaction)
                .where(LedgerTransaction.shop_id == shop.id)
                .order_by(LedgerTransaction.id)
            )
        ]
        audit_trail = [
            (e.action, e.subject_type, e.subject_id, e.actor, e.data)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.shop_id == shop.id, AuditEvent.action.like("commission.%"))
                .order_by(AuditEvent.id)
            )
        ]
        balances = {
            name: journal.member_balances(session, shop.id, chain[name], "CNY") for name in ("D", "C")
        }
        order_id = session.scalar(select(Order.id))
        buyer = session.scalar(select(Order.buyer_member_id))
        order_trail = [
            (e.action, e.subject_type, e.subject_id, e.actor, e.data)
            for e in session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.shop_id == shop.id,
                    AuditEvent.action.like("order.%") | (AuditEvent.subject_id == str(buyer)),
                )
                .order_by(AuditEvent.id)
            )
        ]

    t1_tee, t1_cap, t2_tee, t2_cap = ids[(1, TEE)], ids[(1, CAP)], ids[(2, TEE)], ids[(2, CAP)]

    def accrual(commission_id, member, amount, line, tier):
        return (
            f"accrue:{commission_id}",
            "accrue",
            f"order {ORDER} line {line} tier {tier}",
            sorted([(0, "commission_expense", amount), (member, "pending", -amount)]),
        )

    assert transactions == [
        accrual(t1_tee, d, 2980, TEE, 1),
        accrual(t1_cap, d, 1000, CAP, 1),
        accrual(t2_tee, c, 1490, TEE, 2),
        accrual(t2_cap, c, 500, CAP, 2),
        (
            f"reverse:{t1_tee}:1490",
            "cancel",
            "refund before settlement",
            sorted([(d, "pending", 1490), (0, "commission_expense", -1490)]),
        ),
        (
            f"reverse:{t2_tee}:745",
            "cancel",
            "refund before settlement",
            sorted([(c, "pending", 745), (0, "commission_expense", -745)]),
        ),
        (
            f"settle:{t1_tee}",
            "settle",
            "after-sales window passed",
            sorted([(d, "pending", 1490), (d, "available", -1490)]),
        ),
        (
            f"settle:{t1_cap}",
            "settle",
            "after-sales window passed",
            sorted([(d, "pending", 1000), (d, "available", -1000)]),
        ),
        (
            f"settle:{t2_tee}",
            "settle",
            "after-sales window passed",
            sorted([(c, "pending", 745), (c, "available", -745)]),
        ),
        (
            f"settle:{t2_cap}",
            "settle",
            "after-sales window passed",
            sorted([(c, "pending", 500), (c, "available", -500)]),
        ),
        (f"payout:{d}", "payout", "", sorted([(d, "available", 2490), (d, "paid", -2490)])),
        (f"payout:{c}", "payout", "", sorted([(c, "available", 1245), (c, "paid", -1245)])),
        (
            f"reverse:{t1_cap}:1000",
            "clawback",
            "refund after settlement",
            sorted([(d, "arrears", 1000), (0, "commission_expense", -1000)]),
        ),
        (
            f"reverse:{t2_cap}:500",
            "clawback",
            "refund after settlement",
            sorted([(c, "arrears", 500), (0, "commission_expense", -500)]),
        ),
    ]

    def accrued(commission_id, tier, member, amount):
        data = {"order": ORDER, "tier": tier, "beneficiary_id": member, "amount": amount, "rule_version": 1}
        return ("commission.accrued", "commission", str(commission_id), "system", data)

    def reversed_(commission_id, amount, total, status):
        data = {"order": ORDER, "amount": amount, "reversed_total": total, "status": status}
        return ("commission.reversed", "commission", str(commission_id), "system", data)

    def settled(commission_id, amount):
        return (
            "commission.settled",
            "commission",
            str(commission_id),
            "system",
            {"amount": amount, "arrears_repaid": 0},
        )

    assert audit_trail == [
        accrued(t1_tee, 1, d, 2980),
        accrued(t1_cap, 1, d, 1000),
        accrued(t2_tee, 2, c, 1490),
        accrued(t2_cap, 2, c, 500),
        reversed_(t1_tee, 1490, 1490, "pending"),
        reversed_(t2_tee, 745, 745, "pending"),
        settled(t1_tee, 1490),
        settled(t1_cap, 1000),
        settled(t2_tee, 745),
        settled(t2_cap, 500),
        reversed_(t1_cap, 1000, 1000, "clawed_back"),
        reversed_(t2_cap, 500, 500, "clawed_back"),
    ]
    assert order_trail == [
        (
            "binding.created",
            "member",
            str(buyer),
            "system",
            {"inviter_id": d, "source": "order_ref", "source_ref": ORDER, "ancestors": [d, c, chain["B"]]},
        ),
        ("order.paid", "order", str(order_id), "system", {"external_id": ORDER, "previous": "created"}),
        ("order.completed", "order", str(order_id), "system", {"external_id": ORDER, "previous": "paid"}),
        (
            "order.refund_recorded",
            "order",
            str(order_id),
            "system",
            {"refund": "890088186047892319", "amount": 14900},
        ),
        (
            "order.refund_recorded",
            "order",
            str(order_id),
            "system",
            {"refund": "890088186047892320", "amount": 10000},
        ),
    ]
    assert balances["D"] == {"pending": 0, "available": 0, "withdrawing": 0, "paid": 2490, "arrears": 1000}
    assert balances["C"] == {"pending": 0, "available": 0, "withdrawing": 0, "paid": 1245, "arrears": 500}


def test_the_same_refund_again_in_other_bytes_is_recognised(make_shop, send, database):
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    refund = fixture_json("shopify", "refunds_create")
    assert send(shop, "refunds/create", refund).status_code == 200
    again = fixture_bytes("shopify", "refunds_create") + b"\n"  # the same refund, another delivery
    assert send(shop, "refunds/create", again).status_code == 200
    with database.transaction() as session:
        assert [e.status for e in session.scalars(select(InboxEvent).order_by(InboxEvent.id))] == [
            "processed"
        ] * 3
        assert session.scalar(select(func.count()).select_from(Refund)) == 1
        assert journal.member_balances(session, shop.id, chain["D"], "CNY")["pending"] == 3980 - 1490
        refunds = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "order.refund_recorded")
        ).all()
        assert [r.data for r in refunds] == [{"refund": "890088186047892319", "amount": 14900}]
