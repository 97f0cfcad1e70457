"""What moves a withdrawal on without a person: verifying its payee, auto-approval, making and
sending its payout, and asking gateways about payouts whose outcome is not known. The jobs and
the payout sweep call these; each step reads the database as the source of truth, so running one
twice, or two at once, does each thing once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from adapters.errors import AdapterError
from adapters.payouts.verification import IdentityProvider
from plugin import db
from plugin.db import Database
from plugin.errors import FenxiaoError
from plugin.shops.models import Shop
from plugin.tax import months
from plugin.withdrawals import lifecycle, payees, paying, review
from plugin.withdrawals.keyring import Keyring
from plugin.withdrawals.models import Payee, Payout, PayoutStatus, VerificationStatus, Withdrawal

log = logging.getLogger(__name__)
W, P = lifecycle.W, PayoutStatus


@dataclass
class Outside:
    """The outside parties of a deployment: the identity keyring, each shop's identity provider
    and each shop's payout gateways (``plugin.withdrawals.connectors`` builds the real ones)."""

    keys: Keyring
    identity_provider: object  # (session, shop) -> IdentityProvider
    gateways: paying.Gateways


def advance(database: Database, outside: Outside, withdrawal_id: int, now: datetime | None = None) -> str:
    """Take a withdrawal as far as it goes alone; returns its status after.

    A payout's status decides its withdrawal's (``paying.apply`` moves both in one transaction),
    so the status after sending is read from what ``paying.send`` returns, not read again.
    """
    now = now or db.utcnow()
    provider: IdentityProvider | None = None
    payout_id: int | None = None
    with database.read() as session:
        withdrawal = session.get(Withdrawal, withdrawal_id)
        status, payee_id = withdrawal.status, withdrawal.payee_id
        if status == W.REQUESTED and session.get(Payee, payee_id).status == VerificationStatus.PENDING:
            provider = outside.identity_provider(session, session.get(Shop, withdrawal.shop_id))
    if provider is not None:
        payees.verify(database, outside.keys, payee_id, provider, now)
    if status == W.REQUESTED:
        with database.transaction() as session:
            withdrawal = _locked(session, withdrawal_id)
            review.mark_verified(session, session.get(Shop, withdrawal.shop_id), withdrawal, now)
            status = withdrawal.status
    if status == W.APPROVED:
        with database.transaction() as session:
            withdrawal = _locked(session, withdrawal_id)
            if withdrawal.status == W.APPROVED:
                payout = paying.start(session, session.get(Shop, withdrawal.shop_id), withdrawal, now)
                payout_id = payout.id if payout else None
            status = withdrawal.status
    if status == W.PAYING:
        if payout_id is None:
            with database.read() as session:
                payout_id = session.scalar(select(Payout.id).where(Payout.withdrawal_id == withdrawal_id))
        payout_status = paying.send(database, outside.keys, outside.gateways, payout_id, now)
        status = {P.SUCCEEDED: W.PAID, P.FAILED: W.FAILED}.get(payout_status, W.PAYING)
    return status


def sweep(database: Database, outside: Outside, now: datetime | None = None, *, batch: int = 500) -> int:
    """Advance every withdrawal waiting on no person and ask about every payout due a check.
    One failing item is logged and left for the next sweep. Returns how many items it took.

    An approved withdrawal whose person has a payout in flight is left out (``paying.start``
    would wait anyway): however many wait behind bank batches, they never fill the batch.
    """
    now = now or db.utcnow()
    in_flight = months.paying_of(Withdrawal.shop_id, Withdrawal.id_number_hash).exists()
    with database.read() as session:
        waiting = list(
            session.scalars(
                select(Withdrawal.id)
                .where(
                    or_(Withdrawal.status == W.REQUESTED, and_(Withdrawal.status == W.APPROVED, ~in_flight))
                )
                .order_by(Withdrawal.id)
                .limit(batch)
            )
        )
        unsent = list(
            session.scalars(
                select(Payout.withdrawal_id)
                .where(Payout.status == P.SENDING, Payout.attempts == 0)
                .order_by(Payout.id)
                .limit(batch)
            )
        )
        due = list(
            session.scalars(
                select(Payout.id)
                .where(
                    Payout.status.in_((P.SENDING, P.PENDING)),
                    Payout.attempts > 0,
                    or_(Payout.next_check_at.is_(None), Payout.next_check_at <= now),
                )
                .order_by(Payout.next_check_at)
                .limit(batch)
            )
        )
    for withdrawal_id in waiting + unsent:
        _guarded(advance, database, outside, withdrawal_id, now)
    for payout_id in due:
        _guarded(paying.check, database, outside.gateways, payout_id, now)
    return len(waiting) + len(unsent) + len(due)


def _guarded(step, *args) -> None:
    try:
        step(*args)
    except (FenxiaoError, AdapterError):
        log.exception("withdrawal step %s%r failed; the next sweep tries again", step.__name__, args[2:3])


def _locked(session: Session, withdrawal_id: int) -> Withdrawal:
    return session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id).with_for_update())
