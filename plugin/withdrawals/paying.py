"""From approval to money: the payout is made, sent once, and its outcome applied once.

1. ``start`` (approved → paying), in one transaction: the tax is computed on the person's month
   so far under a lock on that person (when the shop withholds, not while another payout of the
   person is unanswered: it waits, approved, for the sweep after that one's outcome), the amount
   leaves ``withdrawing`` (net to ``payout_clearing``, tax to ``tax_withheld``, fee to
   ``withdrawal_fees``) and a ``Payout`` row is written with its idempotency key ``out_no``.
2. ``send``: claims the payout (``attempts`` 0 → 1, committed) before calling the gateway, so
   two workers never both submit and a crash after the call is never followed by a second
   submit: a payout with attempts is only ever *queried*.
3. ``apply``: the gateway's answer, from the submit, a query, a callback or a bank result file.
   Final answers move the withdrawal to ``paid`` or ``failed`` (the amount, tax and fee given
   back, the distributor told why); a second answer for a settled payout changes nothing, and
   one that contradicts it is audited for a person to look at.

The out_no is ``FX<shop>W<withdrawal>R<8 hex>``: it names the withdrawal, and its random tail
keeps a database restored from a backup, or a second deployment on the same merchant account,
from reusing a key a gateway has seen (it would answer with the old payout's outcome).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.errors import AdapterError
from adapters.money import Money
from adapters.payouts import base
from plugin import db
from plugin.audit import trail
from plugin.db import Database
from plugin.notices.outbox import notify
from plugin.reports.month import current_month
from plugin.shops.models import Shop
from plugin.tax import months
from plugin.tax.withholding import TaxPolicy
from plugin.withdrawals import lifecycle, payees, postings, settings
from plugin.withdrawals.keyring import Keyring
from plugin.withdrawals.models import Payee, Payout, PayoutStatus, Withdrawal

P, W = PayoutStatus, lifecycle.W
#: ``gateways(session, shop, channel)``: the shop's gateway for a channel, None for bank files.
Gateways = Callable[[Session, Shop, str], base.PayoutGateway | None]
FIRST_CHECK = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


def out_no_for(withdrawal: Withdrawal) -> str:
    return f"FX{withdrawal.shop_id}W{withdrawal.id}R{secrets.token_hex(4)}"


def next_check(attempts: int, now: datetime) -> datetime:
    """When to ask the gateway again: 30 s, then doubling up to an hour."""
    return now + min(FIRST_CHECK * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def waits_for(
    session: Session, shop: Shop, withdrawal: Withdrawal, tax_policy: TaxPolicy | None = None
) -> int | None:
    """The withdrawal of the same person whose payout, in flight, this one waits for: only while
    the shop withholds tax (``plugin.tax.months``: this one's tax depends on that one's outcome)."""
    tax_policy = tax_policy or settings.policy_of(session, shop).tax
    return months.in_flight(session, shop.id, withdrawal.id_number_hash) if tax_policy.withholds else None


def start(session: Session, shop: Shop, withdrawal: Withdrawal, now: datetime) -> Payout | None:
    """Move an approved withdrawal to paying: tax, postings and its payout row. None, and the
    withdrawal left approved, while the shop withholds tax and the person has a payout in flight
    (``plugin.tax.months``: the tax of this one depends on that one's outcome)."""
    tax_policy = settings.policy_of(session, shop).tax
    months.lock_person(session, shop.id, withdrawal.id_number_hash)
    if waits_for(session, shop, withdrawal, tax_policy):
        return None
    withdrawal.tax = months.due(
        session, shop, tax_policy, withdrawal.id_number_hash, withdrawal.amount - withdrawal.fee, now
    )
    withdrawal.tax_policy, withdrawal.tax_month = tax_policy.name, current_month(shop, now)
    lifecycle.move(withdrawal, W.PAYING, now)
    postings.send(session, withdrawal)
    payout = Payout(
        shop_id=shop.id,
        withdrawal_id=withdrawal.id,
        out_no=out_no_for(withdrawal),
        channel=withdrawal.channel,
        amount=withdrawal.net,
        currency=withdrawal.currency,
        status=P.SENDING,
        attempts=0,
        created_at=now,
    )
    session.add(payout)
    session.flush()
    trail.record(
        session,
        shop.id,
        "withdrawal.paying",
        "withdrawal",
        withdrawal.id,
        out_no=payout.out_no,
        channel=payout.channel,
        amount=withdrawal.amount,
        fee=withdrawal.fee,
        tax=withdrawal.tax,
        net=withdrawal.net,
        tax_policy=tax_policy.name,
    )
    return payout


def send(
    database: Database, keys: Keyring, gateways: Gateways, payout_id: int, now: datetime | None = None
) -> str:
    """Submit a payout not sent yet (others are left to ``check``); returns its status after."""
    now = now or db.utcnow()
    with database.transaction() as session:
        payout = session.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
        if payout.status != P.SENDING or payout.attempts:
            return payout.status
        shop = session.get(Shop, payout.shop_id)
        try:
            gateway = gateways(session, shop, payout.channel)
        except AdapterError as unusable:
            payout.reason, payout.next_check_at = (
                f"gateway not usable: {unusable.message}"[:300],
                next_check(1, now),
            )
            return payout.status
        withdrawal = session.get(Withdrawal, payout.withdrawal_id)
        check = payees.details(keys, session.get(Payee, withdrawal.payee_id))
        if gateway is None:  # a bank batch: sent when the operator exports the file
            lifecycle.PAYOUT_MACHINE.move(payout, P.PENDING)
            payout.reason = "waiting for the bank batch file"
            return payout.status
        payout.attempts, payout.next_check_at = 1, next_check(1, now)
        request = base.Payout(
            out_no=payout.out_no,
            amount=payout.amount,
            currency=payout.currency,
            payee_account=check.account,
            payee_name=check.real_name,
            note=f"commission withdrawal {withdrawal.id}",
        )
    try:
        outcome = gateway.submit(request)
    except AdapterError as unclear:  # a gateway must not raise here; if one does, ask it later
        outcome = base.Outcome(request.out_no, base.PENDING, reason=unclear.message[:300])
    return apply(database, outcome, source="submit", now=now)


def check(database: Database, gateways: Gateways, payout_id: int, now: datetime | None = None) -> str:
    """Ask the gateway how a sent payout ended and apply the answer; returns its status after."""
    now = now or db.utcnow()
    with database.transaction() as session:
        payout = session.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
        if payout.status not in (P.SENDING, P.PENDING) or not payout.attempts:
            return payout.status
        try:
            gateway = gateways(session, session.get(Shop, payout.shop_id), payout.channel)
        except AdapterError as unusable:
            gateway, payout.reason = None, f"gateway not usable: {unusable.message}"
        payout.attempts += 1
        payout.next_check_at = next_check(payout.attempts, now)
        out_no = payout.out_no
    if gateway is None:
        return P.PENDING
    try:
        outcome = gateway.query(out_no)
    except AdapterError as unclear:
        outcome = base.Outcome(out_no, base.PENDING, reason=unclear.message[:300])
    return apply(database, outcome, source="query", now=now)


def apply(
    database: Database,
    outcome: base.Outcome,
    *,
    source: str,
    now: datetime | None = None,
    shop_id: int | None = None,
) -> str:
    """Apply a gateway's answer about ``outcome.out_no`` in its own transaction (``shop_id``: the
    payout must be that shop's, as a callback to a shop's address claims)."""
    with database.transaction() as session:
        return apply_in(session, outcome, source=source, now=now or db.utcnow(), shop_id=shop_id)


def apply_in(
    session: Session, outcome: base.Outcome, *, source: str, now: datetime, shop_id: int | None = None
) -> str:
    """Apply a gateway's answer in the caller's transaction (a bank file applies all its lines in one)."""
    payout = session.scalar(select(Payout).where(Payout.out_no == outcome.out_no).with_for_update())
    if payout is None or shop_id not in (None, payout.shop_id):
        raise AdapterError(f"no payout was sent as {outcome.out_no!r}", "out_no")
    settled = payout.status in (P.SUCCEEDED, P.FAILED)
    if settled or outcome.status == base.PENDING:
        if settled and outcome.status != base.PENDING and outcome.status != payout.status:
            trail.record(
                session,
                payout.shop_id,
                "payout.contradicted",
                "withdrawal",
                payout.withdrawal_id,
                out_no=payout.out_no,
                recorded=payout.status,
                answered=outcome.status,
                source=source,
            )
        elif not settled:
            if payout.status == P.SENDING:
                lifecycle.PAYOUT_MACHINE.move(payout, P.PENDING)
            payout.reason = outcome.reason
            payout.reference = outcome.reference or payout.reference
        return payout.status
    withdrawal = session.scalar(
        select(Withdrawal).where(Withdrawal.id == payout.withdrawal_id).with_for_update()
    )
    succeeded = outcome.status == base.SUCCEEDED
    lifecycle.PAYOUT_MACHINE.move(payout, P.SUCCEEDED if succeeded else P.FAILED)
    payout.reference, payout.reason, payout.resolved_at = (
        outcome.reference or payout.reference,
        outcome.reason,
        now,
    )
    money = f"{Money(withdrawal.net, withdrawal.currency).to_decimal()} {withdrawal.currency}"
    if succeeded:
        lifecycle.move(withdrawal, W.PAID, now)
        postings.paid(session, withdrawal)
        message = f"Your withdrawal {withdrawal.id} of {money} was paid."
    else:
        reason = outcome.reason or "the gateway refused the payout"
        lifecycle.move(withdrawal, W.FAILED, now, reason_code="payout_failed", reason=reason[:300])
        postings.give_back(session, withdrawal, sent=True)
        message = (
            f"Your withdrawal {withdrawal.id} could not be paid ({reason}); the amount is available again."
        )
    trail.record(
        session,
        payout.shop_id,
        f"withdrawal.{withdrawal.status}",
        "withdrawal",
        withdrawal.id,
        out_no=payout.out_no,
        reference=payout.reference,
        reason=payout.reason,
        source=source,
    )
    notify(
        session,
        payout.shop_id,
        withdrawal.member_id,
        f"withdrawal.{withdrawal.status}",
        "withdrawal",
        withdrawal.id,
        message,
    )
    return payout.status
