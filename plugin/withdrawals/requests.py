"""A distributor asks to withdraw: the amount moves from ``available`` to ``withdrawing`` in the
same transaction that checks it, under a row lock on the distributor's ``available`` account, so
two requests at once are checked one after the other and can never overdraw.

What can be withdrawn is ``available`` less what ``arrears`` claim (settlement and clawback keep
the two from both being positive, but a clawback landing while a rejected withdrawal returns can
leave both for a moment). Daily and monthly usage counts every withdrawal not rejected or failed,
by the shop's own calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.money import Money
from plugin import db
from plugin.audit import trail
from plugin.errors import InvalidSetting
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.reports.figures import day_start, zone_of
from plugin.shops.models import Shop
from plugin.tax import months
from plugin.withdrawals import lifecycle, postings, settings
from plugin.withdrawals.errors import InsufficientFunds, PayeeMissing
from plugin.withdrawals.limits import CHANNELS, Quote, Usage, check, fee_of, quote
from plugin.withdrawals.models import Payee, VerificationStatus, Withdrawal


@dataclass(frozen=True)
class Preview:
    """What a distributor sees before asking: balances, what is left of each limit, and a quote."""

    available: int
    arrears: int
    withdrawable: int
    usage: Usage
    quote: Quote | None


def withdrawable(session: Session, shop: Shop, member_id: int, *, lock: bool = False) -> tuple[int, int, int]:
    """``(available, arrears, withdrawable)``; ``lock`` takes the available account's row lock."""
    available = journal.account(session, shop.id, member_id, AccountKind.AVAILABLE, shop.currency, lock=lock)
    arrears = journal.account(session, shop.id, member_id, AccountKind.ARREARS, shop.currency)
    have, owe = journal.balance(session, available), max(journal.balance(session, arrears), 0)
    return have, owe, max(0, have - owe)


def usage(session: Session, shop: Shop, member_id: int, channel: str, now: datetime) -> Usage:
    """What the distributor, and the shop through ``channel``, withdrew today and this month."""
    zone = zone_of(shop)
    today = now.astimezone(zone).date()
    day, month = day_start(zone, today), day_start(zone, date(today.year, today.month, 1))
    counted = Withdrawal.status.not_in(lifecycle.RETURNED)

    def total(since: datetime, *where) -> int:
        query = select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(
            Withdrawal.shop_id == shop.id, Withdrawal.requested_at >= since, counted, *where
        )
        return int(session.scalar(query))

    mine, through = Withdrawal.member_id == member_id, Withdrawal.channel == channel
    return Usage(
        distributor_today=total(day, mine),
        distributor_month=total(month, mine),
        channel_today=total(day, through),
        channel_month=total(month, through),
    )


def preview(session: Session, shop: Shop, member_id: int, amount: int | None, now: datetime) -> Preview:
    """Balances, usage and (for ``amount``) the quote, taxed as if it were sent now."""
    policy = settings.policy_of(session, shop)
    payee = payee_of(session, shop, member_id)
    channel = payee.channel if payee else policy.channels[0]
    have, owe, free = withdrawable(session, shop, member_id)
    quoted = None
    if amount is not None:
        fee = fee_of(policy.limits, amount)
        tax = 0
        if payee is not None and fee < amount:
            tax = months.due(session, shop, policy.tax, payee.id_number_hash, amount - fee, now)
        quoted = quote(policy.limits, amount, tax)
    return Preview(have, owe, free, usage(session, shop, member_id, channel, now), quoted)


def payee_of(session: Session, shop: Shop, member_id: int) -> Payee | None:
    return session.scalar(select(Payee).where(Payee.shop_id == shop.id, Payee.member_id == member_id))


def request(
    session: Session, shop: Shop, member_id: int, amount: int, *, actor: str, now: datetime | None = None
) -> Withdrawal:
    """Ask to withdraw ``amount`` (fen) to the distributor's payee account.

    Raises:
        PayeeMissing: no identity and account entered yet (or the check refused them).
        LimitExceeded: a limit refuses the amount, named with what is left.
        InsufficientFunds: more than available less arrears.
    """
    now = now or db.utcnow()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidSetting("the amount must be a positive whole number of fen", "amount")
    policy = settings.policy_of(session, shop)
    payee = payee_of(session, shop, member_id)
    if payee is None:
        raise PayeeMissing("enter your real name, ID number and payout account before withdrawing")
    if payee.status == VerificationStatus.FAILED:
        raise PayeeMissing(f"your identity check failed: {payee.reason}; enter it again")
    if payee.channel not in policy.channels:
        raise InvalidSetting(f"the shop pays nothing through {payee.channel}; change your account", "channel")
    have, owe, free = withdrawable(session, shop, member_id, lock=True)
    if policy.limits.channel_caps.get(payee.channel):  # shop-wide caps: one request of the shop at a time
        key = shop.id * len(CHANNELS) + CHANNELS.index(payee.channel)
        db.advisory_lock(session, "withdrawal-channel", key)
    check(policy.limits, amount, payee.channel, usage(session, shop, member_id, payee.channel, now))
    if amount > free:
        money = Money(free, shop.currency).to_decimal()
        why = f" (arrears of {Money(owe, shop.currency).to_decimal()} are repaid first)" if owe else ""
        raise InsufficientFunds(f"you can withdraw at most {money} {shop.currency} now{why}", free)
    withdrawal = Withdrawal(
        shop_id=shop.id,
        member_id=member_id,
        currency=shop.currency,
        amount=amount,
        fee=fee_of(policy.limits, amount),
        tax=0,
        channel=payee.channel,
        status=lifecycle.W.REQUESTED,
        payee_id=payee.id,
        masked_account=payee.masked_account,
        id_number_hash=payee.id_number_hash,
        requested_by=actor,
        approvals_needed=policy.approvals_needed(amount),
        requested_at=now,
    )
    session.add(withdrawal)
    session.flush()
    postings.hold(session, withdrawal)
    trail.record(
        session,
        shop.id,
        "withdrawal.requested",
        "withdrawal",
        withdrawal.id,
        actor=actor,
        member=member_id,
        amount=amount,
        fee=withdrawal.fee,
        channel=payee.channel,
        available_before=have,
        approvals_needed=withdrawal.approvals_needed,
    )
    return withdrawal
