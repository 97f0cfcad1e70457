"""What the Withdrawal Approval pages read: the queue (filtered, keyset pages, counts per status)
and one withdrawal's evidence. Plain queries on a session: no Flask here.

Decisions:
- The queue pages by the withdrawal's id (``ix_withdrawal_shop_status`` is ``(shop_id, status,
  id)``): a page is one range read however deep the reader goes, and rows arriving meanwhile
  never shift a page. A status still waiting on someone (requested, verified, approved) lists
  oldest first, so the queue is worked in the order people asked; the others (and "any
  status") newest first, as history reads.
- The counts per status apply the same filters but the status, so each status link says how
  many rows it leads to.
- A page costs the same statements however many rows it has: the rows with their payees' masked
  names, then one grouped count of their approvals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from plugin.audit import search
from plugin.audit.models import AuditEvent
from plugin.errors import NotFound
from plugin.ledger import journal
from plugin.members import roster
from plugin.shops.models import Shop
from plugin.withdrawals import paying, review
from plugin.withdrawals.models import (
    Payee,
    Payout,
    PayoutStatus,
    Withdrawal,
    WithdrawalApproval,
    WithdrawalStatus,
)

W = WithdrawalStatus
PAGE_SIZE = 50
WORK_IN_ORDER = (W.REQUESTED, W.VERIFIED, W.APPROVED)  # oldest first
RECENT = 10  # the member's withdrawals and ledger entries on a withdrawal's page
TRAIL = 100  # audit events of one withdrawal


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # None: any status
    channel: str | None = None
    amount_from: int | None = None  # fen, inclusive
    amount_to: int | None = None
    member_id: int | None = None
    since: datetime | None = None  # requested at, UTC, [since, until)
    until: datetime | None = None


@dataclass(frozen=True)
class Row:
    id: int
    member_id: int
    currency: str
    amount: int
    fee: int
    tax: int
    channel: str
    masked_account: str
    status: str
    approvals_needed: int
    requested_at: datetime
    masked_name: str
    approvals: int = 0

    @property
    def net(self) -> int:
        return self.amount - self.fee - self.tax

    @property
    def tax_fixed(self) -> bool:
        """The tax (and so the net) is computed when the payout starts."""
        return self.status in (W.PAYING, W.PAID, W.FAILED)


@dataclass
class QueuePage:
    rows: list[Row]
    next: int | None = None  # ``after=next``: the following page
    previous: int | None = None  # ``before=previous``: the page before


_COLUMNS = (
    Withdrawal.id,
    Withdrawal.member_id,
    Withdrawal.currency,
    Withdrawal.amount,
    Withdrawal.fee,
    Withdrawal.tax,
    Withdrawal.channel,
    Withdrawal.masked_account,
    Withdrawal.status,
    Withdrawal.approvals_needed,
    Withdrawal.requested_at,
    Payee.masked_name,
)


def oldest_first(status: str | None) -> bool:
    return status in WORK_IN_ORDER


def _conditions(shop_id: int, filters: QueueFilter, *, with_status: bool = True) -> list:
    conditions = [Withdrawal.shop_id == shop_id]
    if with_status and filters.status:
        conditions.append(Withdrawal.status == filters.status)
    if filters.channel:
        conditions.append(Withdrawal.channel == filters.channel)
    if filters.amount_from is not None:
        conditions.append(Withdrawal.amount >= filters.amount_from)
    if filters.amount_to is not None:
        conditions.append(Withdrawal.amount <= filters.amount_to)
    if filters.member_id is not None:
        conditions.append(Withdrawal.member_id == filters.member_id)
    if filters.since is not None:
        conditions.append(Withdrawal.requested_at >= filters.since)
    if filters.until is not None:
        conditions.append(Withdrawal.requested_at < filters.until)
    return conditions


def page_of(
    session: Session,
    shop_id: int,
    filters: QueueFilter,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the shop's withdrawals matching ``filters``, in the queue's order.

    Args:
        after: the id of the last row of the page before (the next page); ``before``: the id of
            the first row of the page after (the previous page).
    """
    ascending = oldest_first(filters.status)
    backwards = before is not None
    query = select(*_COLUMNS).join(Payee, Payee.id == Withdrawal.payee_id)
    query = query.where(*_conditions(shop_id, filters))
    if backwards:
        query = query.where(Withdrawal.id < before if ascending else Withdrawal.id > before)
    elif after is not None:
        query = query.where(Withdrawal.id > after if ascending else Withdrawal.id < after)
    forwards_order = ascending != backwards
    query = query.order_by(Withdrawal.id.asc() if forwards_order else Withdrawal.id.desc())
    found = list(session.execute(query.limit(limit + 1)))
    more, found = len(found) > limit, found[:limit]
    if backwards:
        found.reverse()
    given = approvals_given(session, [row.id for row in found])
    rows = [Row(*row, approvals=given.get(row.id, 0)) for row in found]
    page = QueuePage(rows)
    if rows:
        if backwards:
            page.previous, page.next = (rows[0].id if more else None), rows[-1].id
        else:
            page.next = rows[-1].id if more else None
            page.previous = rows[0].id if after is not None else None
    return page


def approvals_given(session: Session, withdrawal_ids: list[int]) -> dict[int, int]:
    if not withdrawal_ids:
        return {}
    query = (
        select(WithdrawalApproval.withdrawal_id, func.count())
        .where(WithdrawalApproval.withdrawal_id.in_(withdrawal_ids))
        .group_by(WithdrawalApproval.withdrawal_id)
    )
    return {wid: int(n) for wid, n in session.execute(query)}


def counts(session: Session, shop_id: int, filters: QueueFilter) -> dict[str, int]:
    """How many withdrawals of each status match ``filters`` (its status left out)."""
    query = (
        select(Withdrawal.status, func.count())
        .where(*_conditions(shop_id, filters, with_status=False))
        .group_by(Withdrawal.status)
    )
    return {status: int(n) for status, n in session.execute(query)}


def bank_counts(session: Session, shop_id: int) -> dict[str, int]:
    """The shop's open bank payouts: ``waiting`` for a batch file, ``in_batch`` (exported,
    waiting for the bank's result file)."""
    waiting, in_batch = session.execute(
        select(
            func.coalesce(func.sum(case((Payout.attempts == 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Payout.attempts > 0, 1), else_=0)), 0),
        ).where(Payout.shop_id == shop_id, Payout.channel == "bank", Payout.status == PayoutStatus.PENDING)
    ).one()
    return {"waiting": int(waiting), "in_batch": int(in_batch)}


@dataclass
class Evidence:
    withdrawal: Withdrawal
    payee: Payee
    balances: dict[str, int]
    entries: list[roster.Entry]  # the member's last, signed as they moved each balance
    recent: list[Withdrawal]
    approvals: list[WithdrawalApproval]
    payout: Payout | None
    trail: list[AuditEvent] = field(default_factory=list)
    waits_for: int | None = None  # approved, behind this withdrawal of the same person (tax)


def evidence(session: Session, shop_id: int, withdrawal_id: int) -> Evidence:
    """Everything a reviewer weighs about one withdrawal of the shop.

    Raises:
        NotFound: no such withdrawal in this shop.
    """
    withdrawal = session.scalar(
        select(Withdrawal).where(Withdrawal.id == withdrawal_id, Withdrawal.shop_id == shop_id)
    )
    if withdrawal is None:
        raise NotFound(f"no withdrawal {withdrawal_id} in this shop")
    member, shop = withdrawal.member_id, session.get(Shop, shop_id)
    recent = session.scalars(
        select(Withdrawal)
        .where(Withdrawal.shop_id == shop_id, Withdrawal.member_id == member)
        .order_by(Withdrawal.id.desc())
        .limit(RECENT)
    )
    trail = search.search(
        session, shop_id, subject_type="withdrawal", subject_id=str(withdrawal.id), limit=TRAIL
    )
    return Evidence(
        withdrawal=withdrawal,
        payee=session.get(Payee, withdrawal.payee_id),
        balances=journal.member_balances(session, shop_id, member, withdrawal.currency),
        entries=roster.ledger(session, shop, member, limit=RECENT).entries,
        recent=list(recent),
        approvals=review.approvals_of(session, withdrawal.id),
        payout=session.scalar(select(Payout).where(Payout.withdrawal_id == withdrawal.id)),
        trail=list(reversed(trail.events)),  # oldest first: the withdrawal's story in order
        waits_for=paying.waits_for(session, shop, withdrawal) if withdrawal.status == W.APPROVED else None,
    )
