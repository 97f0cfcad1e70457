"""A person's month for withholding: what they were paid and had withheld earlier in the month.

The withholding agent is the shop: a person's month sums their payouts from this shop in the
shop's own calendar month, across every distributor account they hold (found by the ID-number
hash, never by decrypting). The income of a payout is its amount less the shop's fee: the fee is
never paid to the person. A payout counts once it is sent (``paying``) and stops counting if it
fails: its tax is given back with it.

One payout per person is in flight at a time (``in_flight``; ``plugin.withdrawals.paying.start``
waits while there is one): a payout's tax is a top-up on the month so far, so it must know
whether the earlier one was paid. Were a second one topped up on a first still unanswered, and
the first then failed, the second would keep tax on income that was never paid (¥3,000 in a
month withheld ¥480 instead of ¥440) and, as the month's last payout, nothing would correct it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from plugin import db
from plugin.reports.month import current_month
from plugin.shops.models import Shop
from plugin.tax.withholding import TaxPolicy
from plugin.withdrawals.models import Withdrawal, WithdrawalStatus

COUNTED = (WithdrawalStatus.PAYING, WithdrawalStatus.PAID)


def so_far(session: Session, shop_id: int, person: str, month: str) -> tuple[int, int]:
    """``(income, withheld)`` of ``person`` (an ID-number hash) in ``month`` (YYYY-MM)."""
    income, withheld = session.execute(
        select(
            func.coalesce(func.sum(Withdrawal.amount - Withdrawal.fee), 0),
            func.coalesce(func.sum(Withdrawal.tax), 0),
        ).where(
            Withdrawal.shop_id == shop_id,
            Withdrawal.id_number_hash == person,
            Withdrawal.tax_month == month,
            Withdrawal.status.in_(COUNTED),
        )
    ).one()
    return int(income), int(withheld)


def paying_of(shop_id, person) -> Select:
    """The withdrawals of ``person`` sent and not answered yet (any month). Either argument may
    be a column, for a query correlated with the withdrawal it looks at (the payout sweep)."""
    earlier = aliased(Withdrawal)
    return select(earlier.id).where(
        earlier.shop_id == shop_id,
        earlier.id_number_hash == person,
        earlier.status == WithdrawalStatus.PAYING,
    )


def in_flight(session: Session, shop_id: int, person: str) -> int | None:
    """A withdrawal of ``person`` sent and not answered yet, if there is one."""
    return session.scalar(paying_of(shop_id, person).limit(1))


def lock_person(session: Session, shop_id: int, person: str) -> None:
    """Serialize the tax of one person's payouts (PostgreSQL; SQLite serializes every writer)."""
    db.advisory_lock(session, f"tax:{shop_id}", int(person[:7], 16))  # PostgreSQL takes an int4 key


def due(session: Session, shop: Shop, policy: TaxPolicy, person: str, income: int, now: datetime) -> int:
    """What ``policy`` withholds from a payout of ``income`` to ``person`` sent at ``now``."""
    paid_before, withheld_before = so_far(session, shop.id, person, current_month(shop, now))
    return policy.due(paid_before, withheld_before, income)
