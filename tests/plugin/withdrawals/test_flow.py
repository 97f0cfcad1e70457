"""A withdrawal from request to payout: the ledger, the states, the audit, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.payouts import base
from adapters.payouts.verification import Verdict
from plugin.audit.models import AuditEvent
from plugin.errors import InvalidTransition
from plugin.ledger import journal
from plugin.ledger.models import AccountKind as K
from plugin.ledger.models import LedgerTransaction
from plugin.notices.models import Notice
from plugin.shops.models import Shop
from plugin.tax.withholding import labour_remuneration_tax
from plugin.withdrawals import flow, paying, review
from plugin.withdrawals.errors import FourEyes, InsufficientFunds, PayeeLocked, PayeeMissing, ReviewRefused
from plugin.withdrawals.limits import LimitExceeded
from plugin.withdrawals.models import Payout, Withdrawal
from tests.plugin.withdrawals.kit import (
    ID_B,
    NOW,
    FakeGateway,
    FakeProvider,
    actions,
    ask,
    balances,
    configure,
    credit,
    distributor,
    enter_payee,
    outside,
    shop_balance,
    withdrawal,
)


@pytest.fixture
def member(database, shop):
    member_id = distributor(database, shop.id, "ann")
    credit(database, shop.id, member_id, 1_000_000)  # ¥10,000.00
    enter_payee(database, shop.id, member_id)
    return member_id


def approve(database, shop_id, withdrawal_id, actor):
    with database.transaction() as session:
        review.approve(session, session.get(Shop, shop_id), withdrawal_id, actor)


def reject(database, shop_id, withdrawal_id, actor, reason):
    with database.transaction() as session:
        review.reject(session, session.get(Shop, shop_id), withdrawal_id, actor, reason)


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_request_moves_the_amount_from_available_to_withdrawing(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 300_000)
    assert balances(database, shop.id, member) == {
        "pending": 0,
        "available": 700_000,
        "withdrawing": 300_000,
        "paid": 0,
        "arrears": 0,
    }
    w = withdrawal(database, withdrawal_id)
    assert (w.status, w.amount, w.fee, w.channel, w.masked_account) == (
        "requested",
        300_000,
        0,
        "wechat",
        "******id-1",
    )
    assert actions(database, shop.id) == ["payee.entered", "withdrawal.requested"]


def test_the_whole_way_to_paid_posts_tax_and_net_and_balances(database, shop, member):
    gateway = FakeGateway()
    withdrawal_id = ask(database, shop.id, member, 500_000)  # ¥5,000: taxable 80 %, 20 %
    assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == "verified"
    approve(database, shop.id, withdrawal_id, "fin-1")
    assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == "paid"
    w = withdrawal(database, withdrawal_id)
    assert (w.tax, w.net, w.tax_month, w.tax_policy) == (80_000, 420_000, "2026-11", "labour_remuneration")
    assert [(p.amount, p.payee_account, p.payee_name) for p in gateway.submitted] == [
        (420_000, "o-openid-1", "王小明")
    ]
    assert balances(database, shop.id, member) == {
        "pending": 0,
        "available": 500_000,
        "withdrawing": 0,
        "paid": 420_000,
        "arrears": 0,
    }
    assert shop_balance(database, shop.id, K.TAX_WITHHELD) == 80_000
    assert shop_balance(database, shop.id, K.PAYOUT_CLEARING) == 0
    with database.transaction() as session:
        assert journal.unbalanced_transactions(session) == []
    assert actions(database, shop.id) == [
        "payee.entered",
        "withdrawal.requested",
        "payee.verified",
        "withdrawal.verified",
        "withdrawal.approved",
        "withdrawal.paying",
        "withdrawal.paid",
    ]


def test_more_than_available_less_arrears_is_refused_and_nothing_is_written(database, shop, member):
    credit(database, shop.id, member, 200_000, kind=K.ARREARS)
    with pytest.raises(InsufficientFunds) as refused:
        ask(database, shop.id, member, 900_000)
    assert refused.value.allowed == 800_000
    assert "arrears of 2000.00 are repaid first" in refused.value.message
    assert count(database, Withdrawal) == 0
    assert balances(database, shop.id, member)["withdrawing"] == 0
    ask(database, shop.id, member, 800_000)  # what is left after arrears may go


def test_each_limit_refuses_by_name_and_writes_nothing(database, shop, member):
    configure(
        database, shop.id, minimum=1_000, daily=600_000, channel_caps={"wechat": {"per_transaction": 400_000}}
    )
    for amount, limit, allowed in ((999, "minimum", 0), (400_001, "per_transaction", 400_000)):
        with pytest.raises(LimitExceeded) as refused:
            ask(database, shop.id, member, amount)
        assert (refused.value.limit, refused.value.allowed) == (limit, allowed)
    ask(database, shop.id, member, 400_000)
    with pytest.raises(LimitExceeded) as refused:
        ask(database, shop.id, member, 300_000)
    assert (refused.value.limit, refused.value.allowed) == ("daily", 200_000)
    assert count(database, Withdrawal) == 1


def test_a_fee_is_kept_by_the_shop_and_not_taxed(database, shop, member):
    configure(database, shop.id, fee_fixed=100, fee_percent="1")
    withdrawal_id = ask(database, shop.id, member, 100_000)
    flow.advance(database, outside(), withdrawal_id, NOW)
    approve(database, shop.id, withdrawal_id, "fin-1")
    flow.advance(database, outside(), withdrawal_id, NOW)
    w = withdrawal(database, withdrawal_id)
    assert (w.fee, w.tax) == (1_100, labour_remuneration_tax(100_000 - 1_100))
    assert shop_balance(database, shop.id, K.WITHDRAWAL_FEES) == 1_100
    assert balances(database, shop.id, member)["paid"] == 100_000 - 1_100 - w.tax


def test_no_payee_no_withdrawal(database, shop):
    member_id = distributor(database, shop.id, "bob")
    credit(database, shop.id, member_id, 10_000)
    with pytest.raises(PayeeMissing):
        ask(database, shop.id, member_id, 5_000)
    assert count(database, Withdrawal) == 0


def test_four_eyes_above_the_threshold(database, shop, member):
    configure(database, shop.id, second_approval_above=200_000)
    small, large = ask(database, shop.id, member, 200_000), ask(database, shop.id, member, 200_001)
    for withdrawal_id in (small, large):
        flow.advance(database, outside(), withdrawal_id, NOW)
    approve(database, shop.id, small, "fin-1")
    assert withdrawal(database, small).status == "approved"
    with pytest.raises(FourEyes):
        approve(database, shop.id, large, f"member:{member}")  # the requester
    approve(database, shop.id, large, "fin-1")
    assert withdrawal(database, large).status == "verified"
    with pytest.raises(FourEyes):
        approve(database, shop.id, large, "fin-1")  # the first approver again
    approve(database, shop.id, large, "fin-2")
    assert withdrawal(database, large).status == "approved"


def test_an_unverified_withdrawal_cannot_be_approved(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 10_000)
    with pytest.raises(ReviewRefused, match="not verified yet"):
        approve(database, shop.id, withdrawal_id, "fin-1")


def test_auto_approval_of_small_amounts_never_under_four_eyes(database, shop, member):
    configure(database, shop.id, auto_approve_up_to=50_000, second_approval_above=30_000)
    gateway = FakeGateway()
    under, over = ask(database, shop.id, member, 30_000), ask(database, shop.id, member, 40_000)
    assert flow.advance(database, outside(gateway=gateway), under, NOW) == "paid"
    assert flow.advance(database, outside(gateway=gateway), over, NOW) == "verified"
    assert "withdrawal.approved" in actions(database, shop.id)


def test_rejection_gives_the_amount_back_and_needs_a_reason(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 300_000)
    with pytest.raises(Exception, match="say why"):
        reject(database, shop.id, withdrawal_id, "fin-1", "  ")
    reject(database, shop.id, withdrawal_id, "fin-1", "account name looks wrong")
    w = withdrawal(database, withdrawal_id)
    assert (w.status, w.reason_code, w.reason) == ("rejected", "rejected", "account name looks wrong")
    assert balances(database, shop.id, member)["available"] == 1_000_000
    with pytest.raises(ReviewRefused):
        reject(database, shop.id, withdrawal_id, "fin-1", "again")


def test_a_returned_amount_repays_arrears_first(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 1_000_000)
    credit(database, shop.id, member, 30_000, kind=K.ARREARS)  # a clawback found nothing available
    reject(database, shop.id, withdrawal_id, "fin-1", "no")
    assert balances(database, shop.id, member) == {
        "pending": 0,
        "available": 970_000,
        "withdrawing": 0,
        "paid": 0,
        "arrears": 0,
    }


def test_a_failed_identity_check_rejects_with_its_reason(database, shop, member):
    provider = FakeProvider(verdict=Verdict(False, "name_mismatch", "The name does not match the ID number."))
    withdrawal_id = ask(database, shop.id, member, 300_000)
    assert flow.advance(database, outside(provider=provider), withdrawal_id, NOW) == "rejected"
    w = withdrawal(database, withdrawal_id)
    assert w.reason_code == "identity_failed"
    assert w.reason == "identity check failed: The name does not match the ID number."
    assert balances(database, shop.id, member)["available"] == 1_000_000
    with pytest.raises(PayeeMissing, match="The name does not match"):
        ask(database, shop.id, member, 1_000)


def test_an_unavailable_provider_leaves_the_request_for_the_sweep(database, shop, member):
    provider = FakeProvider(unavailable=True)
    withdrawal_id = ask(database, shop.id, member, 300_000)
    assert flow.advance(database, outside(provider=provider), withdrawal_id, NOW) == "requested"
    provider.unavailable = False
    assert flow.sweep(database, outside(provider=provider), NOW) == 1
    assert withdrawal(database, withdrawal_id).status == "verified"
    assert len(provider.calls) == 2


def test_a_failed_payout_gives_back_amount_tax_and_fee_and_tells_the_distributor(database, shop, member):
    configure(database, shop.id, fee_fixed=200)
    gateway = FakeGateway(script=[base.FAILED])
    withdrawal_id = ask(database, shop.id, member, 500_000)
    flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW)
    approve(database, shop.id, withdrawal_id, "fin-1")
    assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == "failed"
    assert balances(database, shop.id, member)["available"] == 1_000_000
    for kind in (K.TAX_WITHHELD, K.WITHDRAWAL_FEES, K.PAYOUT_CLEARING):
        assert shop_balance(database, shop.id, kind) == 0
    w = withdrawal(database, withdrawal_id)
    assert (w.reason_code, w.reason) == ("payout_failed", "NOT_ENOUGH: merchant balance too low")
    with database.transaction() as session:
        (notice,) = session.scalars(select(Notice))
    assert notice.kind == "withdrawal.failed" and "NOT_ENOUGH" in notice.message


def test_an_unclear_submit_is_resolved_by_asking_never_by_sending_again(database, shop, member):
    gateway = FakeGateway(script=[base.PENDING])
    withdrawal_id = ask(database, shop.id, member, 100_000)
    flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW)
    approve(database, shop.id, withdrawal_id, "fin-1")
    assert flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW) == "paying"
    with database.transaction() as session:
        payout = session.scalar(select(Payout))
    assert (payout.status, payout.attempts) == ("pending", 1)
    assert flow.sweep(database, outside(gateway=gateway), NOW) == 0  # its check is not due yet
    later = payout.next_check_at
    assert flow.sweep(database, outside(gateway=gateway), later) == 1
    assert withdrawal(database, withdrawal_id).status == "paid"
    assert len(gateway.submitted) == 1 and gateway.queried == [payout.out_no]
    # a late callback, and a query answering again, change nothing
    for source in ("callback", "query"):
        paying.apply(database, base.Outcome(payout.out_no, base.SUCCEEDED), source=source)
    assert balances(database, shop.id, member)["paid"] == 100_000 - labour_remuneration_tax(100_000)
    with database.transaction() as session:
        keys = list(session.scalars(select(LedgerTransaction.key).where(LedgerTransaction.kind == "payout")))
    assert len(keys) == 2 and len(set(keys)) == 2


def test_a_contradicting_answer_is_audited_and_changes_nothing(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 100_000)
    flow.advance(database, outside(), withdrawal_id, NOW)
    approve(database, shop.id, withdrawal_id, "fin-1")
    flow.advance(database, outside(), withdrawal_id, NOW)
    with database.transaction() as session:
        out_no = session.scalar(select(Payout.out_no))
    assert paying.apply(database, base.Outcome(out_no, base.FAILED), source="callback") == "succeeded"
    assert withdrawal(database, withdrawal_id).status == "paid"
    assert actions(database, shop.id)[-1] == "withdrawal.paid"
    with database.transaction() as session:
        assert (
            session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "payout.contradicted"
        )


def test_tax_is_topped_up_over_one_persons_month_across_accounts(database, shop, member):
    other = distributor(database, shop.id, "ann-second-account")
    credit(database, shop.id, other, 1_000_000)
    enter_payee(database, shop.id, other, account="o-openid-2")  # the same ID number
    stranger = distributor(database, shop.id, "carl")
    credit(database, shop.id, stranger, 1_000_000)
    enter_payee(database, shop.id, stranger, number=ID_B, name="李四", account="o-openid-3")
    paid = []
    for member_id, amount in ((member, 300_000), (other, 400_000), (stranger, 300_000)):
        withdrawal_id = ask(database, shop.id, member_id, amount)
        flow.advance(database, outside(), withdrawal_id, NOW)
        approve(database, shop.id, withdrawal_id, "fin-1")
        flow.advance(database, outside(), withdrawal_id, NOW)
        paid.append(withdrawal(database, withdrawal_id))
    assert paid[0].tax == labour_remuneration_tax(300_000)
    assert paid[0].tax + paid[1].tax == labour_remuneration_tax(700_000)
    assert paid[2].tax == labour_remuneration_tax(300_000)  # another person: a month of their own


def two_approved(database, shop_id, member, gateway) -> tuple[int, int]:
    ids = ask(database, shop_id, member, 500_000), ask(database, shop_id, member, 300_000)
    for withdrawal_id in ids:
        flow.advance(database, outside(gateway=gateway), withdrawal_id, NOW)
        approve(database, shop_id, withdrawal_id, "fin-1")
    return ids


@pytest.mark.parametrize("outcome", [base.FAILED, base.SUCCEEDED])
def test_a_persons_next_payout_waits_until_the_one_in_flight_is_answered(database, shop, member, outcome):
    """Topped up on a first payout still unanswered, a second one kept the tax of the first's
    income when the first then failed (¥3,000 withheld ¥480, not ¥440): it waits instead."""
    gateway = FakeGateway(script=[base.PENDING])
    first, second = two_approved(database, shop.id, member, gateway)
    assert flow.advance(database, outside(gateway=gateway), first, NOW) == "paying"
    assert flow.advance(database, outside(gateway=gateway), second, NOW) == "approved"
    assert flow.sweep(database, outside(gateway=gateway), NOW) == 0  # it waits; the check is not due
    with database.transaction() as session:
        payout = session.scalar(select(Payout).where(Payout.withdrawal_id == first))
    gateway.settled[payout.out_no] = outcome
    assert flow.sweep(database, outside(gateway=gateway), payout.next_check_at) == 1  # the answer
    assert withdrawal(database, first).status == ("paid" if outcome == base.SUCCEEDED else "failed")
    assert flow.sweep(database, outside(gateway=gateway), payout.next_check_at) == 1  # then the second
    paid_income = 300_000 if outcome == base.FAILED else 800_000
    assert withdrawal(database, second).status == "paid"
    assert withdrawal(database, second).tax == labour_remuneration_tax(paid_income) - (
        0 if outcome == base.FAILED else labour_remuneration_tax(500_000)
    )
    assert shop_balance(database, shop.id, K.TAX_WITHHELD) == labour_remuneration_tax(paid_income)


def test_without_withholding_a_persons_payouts_do_not_wait(database, shop, member):
    configure(database, shop.id, tax_policy="off")
    gateway = FakeGateway(script=[base.PENDING])
    first, second = two_approved(database, shop.id, member, gateway)
    assert flow.advance(database, outside(gateway=gateway), first, NOW) == "paying"
    assert flow.advance(database, outside(gateway=gateway), second, NOW) == "paid"


def test_the_payee_cannot_change_while_a_withdrawal_is_on_its_way(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 100_000)
    with pytest.raises(PayeeLocked):
        enter_payee(database, shop.id, member, account="o-openid-new")
    enter_payee(database, shop.id, member)  # the same details again change nothing
    reject(database, shop.id, withdrawal_id, "fin-1", "changing account")
    enter_payee(database, shop.id, member, account="o-openid-new")


def test_a_paid_withdrawal_cannot_move_again(database, shop, member):
    withdrawal_id = ask(database, shop.id, member, 100_000)
    flow.advance(database, outside(), withdrawal_id, NOW)
    approve(database, shop.id, withdrawal_id, "fin-1")
    flow.advance(database, outside(), withdrawal_id, NOW)
    with database.transaction() as session:
        w = session.get(Withdrawal, withdrawal_id)
        with pytest.raises(InvalidTransition):
            review.lifecycle.move(w, review.W.FAILED, NOW)
