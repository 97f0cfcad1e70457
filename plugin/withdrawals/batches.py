"""Bank payouts by batch file: the operator downloads the batch of bank payouts waiting to go,
uploads it to the shop's corporate banking, and uploads the bank's result file back.

A payout goes into one batch: exporting marks it sent (``attempts`` 1), so a second export does
not pay it twice; a lost file is downloaded again with ``again=True`` (the same payouts, the same
``out_no``s, which the bank refuses as duplicates if the first file went through after all). A
result file is applied whole or not at all (``adapters.payouts.bank.parse_results`` refuses it
naming the line), in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.payouts import bank, base
from plugin import db
from plugin.audit import trail
from plugin.shops.models import Shop
from plugin.withdrawals import payees, paying
from plugin.withdrawals.keyring import Keyring
from plugin.withdrawals.models import Payee, Payout, PayoutStatus, Withdrawal

WAITING = "waiting for the bank batch file"
IN_BATCH = "in a bank batch file, waiting for the bank's result file"


def _open_payouts(session: Session, shop: Shop, *, exported: bool) -> list[Payout]:
    query = select(Payout).where(
        Payout.shop_id == shop.id, Payout.channel == "bank", Payout.status == PayoutStatus.PENDING
    )
    query = query.where(Payout.attempts > 0 if exported else Payout.attempts == 0)
    return list(session.scalars(query.order_by(Payout.id).with_for_update()))


def export(
    session: Session, shop: Shop, keys: Keyring, actor: str, *, again: bool = False
) -> tuple[bytes, int]:
    """The batch file of the bank payouts not exported yet (``again``: those exported and still
    unanswered); returns the file and how many payouts it holds."""
    payouts = _open_payouts(session, shop, exported=again)
    lines = []
    for payout in payouts:
        withdrawal = session.get(Withdrawal, payout.withdrawal_id)
        check = payees.details(keys, session.get(Payee, withdrawal.payee_id))
        note = f"commission withdrawal {withdrawal.id}"
        lines.append(
            base.Payout(payout.out_no, payout.amount, payout.currency, check.account, check.real_name, note)
        )
    data = bank.export_batch(lines)
    for payout in payouts:
        payout.attempts, payout.reason = payout.attempts + 1, IN_BATCH
    trail.record(
        session,
        shop.id,
        "payout.bank_batch_exported",
        "shop",
        shop.id,
        actor=actor,
        payouts=len(lines),
        again=again,
    )
    return data, len(lines)


def import_results(
    session: Session, shop: Shop, data: bytes, actor: str, now: datetime | None = None
) -> dict:
    """Apply the bank's result file; returns how many payouts it settled each way.

    Raises:
        BankFileError: the file is refused (nothing applied), naming the line.
    """
    now = now or db.utcnow()
    # every bank payout of the shop: importing the same file twice settles nothing twice
    known = session.execute(
        select(Payout.out_no, Payout.amount, Payout.currency).where(
            Payout.shop_id == shop.id, Payout.channel == "bank"
        )
    )
    batch = {out_no: base.Payout(out_no, amount, currency, "", "") for out_no, amount, currency in known}
    outcomes = bank.parse_results(data, batch)
    counts = {base.SUCCEEDED: 0, base.FAILED: 0, base.PENDING: 0}
    for outcome in outcomes:
        paying.apply_in(session, outcome, source="bank_file", now=now)
        counts[outcome.status] += 1
    trail.record(session, shop.id, "payout.bank_results_imported", "shop", shop.id, actor=actor, **counts)
    return counts
