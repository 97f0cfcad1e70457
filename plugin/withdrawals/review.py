"""From request to approval: the payee's verification, finance's approvals (two people above the
shop's four-eyes threshold, neither of them the requester), the shop's auto-approval of small
amounts, and rejection, which gives the amount back. Every step locks the withdrawal row, checks
the transition table and writes the audit log with who and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin import db
from plugin.audit import trail
from plugin.errors import InvalidSetting, NotFound
from plugin.shops.models import Shop
from plugin.withdrawals import lifecycle, postings, settings
from plugin.withdrawals.errors import FourEyes, ReviewRefused
from plugin.withdrawals.models import Payee, VerificationStatus, Withdrawal, WithdrawalApproval

W = lifecycle.W
AUTO = "auto-approval"
REASON_LENGTH = 300


def locked(session: Session, shop: Shop, withdrawal_id: int) -> Withdrawal:
    withdrawal = session.scalar(
        select(Withdrawal)
        .where(Withdrawal.id == withdrawal_id, Withdrawal.shop_id == shop.id)
        .with_for_update()
    )
    if withdrawal is None:
        raise NotFound(f"no withdrawal {withdrawal_id} in this shop")
    return withdrawal


def approvals_of(session: Session, withdrawal_id: int) -> list[WithdrawalApproval]:
    return list(
        session.scalars(
            select(WithdrawalApproval)
            .where(WithdrawalApproval.withdrawal_id == withdrawal_id)
            .order_by(WithdrawalApproval.id)
        )
    )


def mark_verified(session: Session, shop: Shop, withdrawal: Withdrawal, now: datetime) -> bool:
    """Move a requested withdrawal on by its payee's verification: ``verified`` (then approved if
    the shop auto-approves its amount), ``rejected`` if the check failed, left alone while it is
    pending. Returns whether it became approved (the caller then starts its payout)."""
    if withdrawal.status != W.REQUESTED:
        return False
    payee = session.get(Payee, withdrawal.payee_id)
    if payee.status == VerificationStatus.PENDING:
        return False
    if payee.status == VerificationStatus.FAILED:
        reject(session, shop, withdrawal.id, trail.SYSTEM, f"identity check failed: {payee.reason}", now=now)
        withdrawal.reason_code = "identity_failed"
        return False
    lifecycle.move(withdrawal, W.VERIFIED, now)
    trail.record(
        session, shop.id, "withdrawal.verified", "withdrawal", withdrawal.id, provider=payee.provider
    )
    if settings.policy_of(session, shop).auto_approves(withdrawal.amount):
        _approve(session, shop, withdrawal, AUTO, now, automatic=True)
    return withdrawal.status == W.APPROVED


def approve(
    session: Session, shop: Shop, withdrawal_id: int, actor: str, now: datetime | None = None
) -> Withdrawal:
    """One finance user's approval; the last one needed moves the withdrawal to ``approved``.

    Raises:
        FourEyes: the actor asked for this withdrawal or approved it already.
        ReviewRefused: the withdrawal is not waiting for approval (not verified yet, or decided).
    """
    withdrawal = locked(session, shop, withdrawal_id)
    if withdrawal.status != W.VERIFIED:
        why = (
            "its payee is not verified yet"
            if withdrawal.status == W.REQUESTED
            else f"it is {withdrawal.status}"
        )
        raise ReviewRefused(f"withdrawal {withdrawal_id} cannot be approved: {why}")
    if actor == withdrawal.requested_by:
        raise FourEyes("you asked for this withdrawal: someone else must approve it")
    if any(approval.actor == actor for approval in approvals_of(session, withdrawal.id)):
        raise FourEyes("you approved this withdrawal already: a second finance user must approve it")
    _approve(session, shop, withdrawal, actor, now or db.utcnow())
    return withdrawal


def _approve(
    session: Session,
    shop: Shop,
    withdrawal: Withdrawal,
    actor: str,
    now: datetime,
    *,
    automatic: bool = False,
) -> None:
    session.add(
        WithdrawalApproval(
            shop_id=shop.id, withdrawal_id=withdrawal.id, actor=actor, automatic=automatic, created_at=now
        )
    )
    session.flush()
    count = session.scalar(
        select(func.count())
        .select_from(WithdrawalApproval)
        .where(WithdrawalApproval.withdrawal_id == withdrawal.id)
    )
    if count >= withdrawal.approvals_needed:
        lifecycle.move(withdrawal, W.APPROVED, now)
    trail.record(
        session,
        shop.id,
        "withdrawal.approved",
        "withdrawal",
        withdrawal.id,
        actor=actor,
        approval=count,
        of=withdrawal.approvals_needed,
        automatic=automatic,
        amount=withdrawal.amount,
    )


def reject(
    session: Session, shop: Shop, withdrawal_id: int, actor: str, reason: str, now: datetime | None = None
) -> Withdrawal:
    """Refuse a withdrawal not yet sent, with a reason the distributor sees; the amount goes back
    to ``available`` (arrears repaid first).

    Raises:
        InvalidSetting: no reason, or one over 300 characters.
        ReviewRefused: it was sent to the gateway already, or decided.
    """
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > REASON_LENGTH:
        raise InvalidSetting(f"say why, in 1 to {REASON_LENGTH} characters", "reason")
    withdrawal = locked(session, shop, withdrawal_id)
    if withdrawal.status not in lifecycle.HELD:
        raise ReviewRefused(f"withdrawal {withdrawal_id} cannot be rejected: it is {withdrawal.status}")
    lifecycle.move(withdrawal, W.REJECTED, now or db.utcnow(), reason_code="rejected", reason=reason)
    repaid = postings.give_back(session, withdrawal, sent=False)
    trail.record(
        session,
        shop.id,
        "withdrawal.rejected",
        "withdrawal",
        withdrawal.id,
        actor=actor,
        reason=reason,
        amount=withdrawal.amount,
        arrears_repaid=repaid,
    )
    return withdrawal
