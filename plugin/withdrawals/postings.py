"""The ledger transactions of a withdrawal, each posted once under a key naming its step.

::

    request    available ──amount──▶ withdrawing
    send       withdrawing ──▶ payout_clearing (net) + tax_withheld (tax) + withdrawal_fees (fee)
    paid       payout_clearing ──net──▶ paid
    rejected   withdrawing ──amount──▶ arrears (repaid first) + available
    failed     payout_clearing + tax_withheld + withdrawal_fees ──amount──▶ arrears + available

So ``withdrawing`` holds exactly the amounts of the withdrawals not sent yet, ``payout_clearing``
those sent and not answered, and ``paid`` what reached the distributor. A failed payout gives
back its tax and fee too: nothing was paid, so nothing was earned or withheld.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.ledger import journal
from plugin.ledger.models import AccountKind as K
from plugin.withdrawals.models import Withdrawal


def _accounts(session: Session, w: Withdrawal, *kinds: K, lock: K | None = None):
    shop, member, currency = w.shop_id, w.member_id, w.currency
    return [journal.account(session, shop, member, kind, currency, lock=kind == lock) for kind in kinds]


def _shop(session: Session, w: Withdrawal, kind: K):
    return journal.shop_account(session, w.shop_id, kind, w.currency)


def hold(session: Session, w: Withdrawal) -> None:
    available, withdrawing = _accounts(session, w, K.AVAILABLE, K.WITHDRAWING)
    journal.post(
        session,
        w.shop_id,
        f"withdrawal:{w.id}:hold",
        "withdrawal",
        [journal.debit(available, w.amount), journal.credit(withdrawing, w.amount)],
        memo="withdrawal requested",
        new_key=True,
    )


def send(session: Session, w: Withdrawal) -> None:
    (withdrawing,) = _accounts(session, w, K.WITHDRAWING)
    journal.post(
        session,
        w.shop_id,
        f"withdrawal:{w.id}:send",
        "payout",
        [
            journal.debit(withdrawing, w.amount),
            journal.credit(_shop(session, w, K.PAYOUT_CLEARING), w.net),
            journal.credit(_shop(session, w, K.TAX_WITHHELD), w.tax),
            journal.credit(_shop(session, w, K.WITHDRAWAL_FEES), w.fee),
        ],
        memo="sent to the gateway",
    )


def paid(session: Session, w: Withdrawal) -> None:
    (paid_account,) = _accounts(session, w, K.PAID)
    journal.post(
        session,
        w.shop_id,
        f"withdrawal:{w.id}:paid",
        "payout",
        [journal.debit(_shop(session, w, K.PAYOUT_CLEARING), w.net), journal.credit(paid_account, w.net)],
        memo="the gateway paid",
    )


def give_back(session: Session, w: Withdrawal, *, sent: bool) -> int:
    """Return the amount to the distributor (arrears repaid first); returns what arrears took."""
    available, arrears = _accounts(session, w, K.AVAILABLE, K.ARREARS, lock=K.AVAILABLE)
    repay = min(max(journal.balance(session, arrears), 0), w.amount)
    if sent:
        taken = [
            journal.debit(_shop(session, w, K.PAYOUT_CLEARING), w.net),
            journal.debit(_shop(session, w, K.TAX_WITHHELD), w.tax),
            journal.debit(_shop(session, w, K.WITHDRAWAL_FEES), w.fee),
        ]
    else:
        taken = [journal.debit(_accounts(session, w, K.WITHDRAWING)[0], w.amount)]
    journal.post(
        session,
        w.shop_id,
        f"withdrawal:{w.id}:return",
        "withdrawal_return",
        [*taken, journal.credit(arrears, repay), journal.credit(available, w.amount - repay)],
        memo="payout failed" if sent else "withdrawal rejected",
    )
    return repay
