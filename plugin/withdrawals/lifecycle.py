"""The withdrawal state machine and the payee-verification one.

::

    requested ──verify──▶ verified ──approve (×1 or ×2)──▶ approved ──send──▶ paying ──▶ paid
        │                    │                                 │                 │
        └──── reject ────────┴────────── reject ───────────────┘                 └──▶ failed

``rejected`` and ``failed`` return the amount to ``available`` (arrears repaid first). A
withdrawal is ``approved`` only until its payout is made: from ``paying`` on, only the gateway's
answer moves it.
"""

from __future__ import annotations

from datetime import datetime

from plugin.states import StateMachine
from plugin.withdrawals.models import PayoutStatus, VerificationStatus, Withdrawal, WithdrawalStatus

W = WithdrawalStatus
TRANSITIONS: dict[WithdrawalStatus, tuple[WithdrawalStatus, ...]] = {
    W.REQUESTED: (W.VERIFIED, W.REJECTED),
    W.VERIFIED: (W.APPROVED, W.REJECTED),
    W.APPROVED: (W.PAYING, W.REJECTED),
    W.PAYING: (W.PAID, W.FAILED),
    W.PAID: (),
    W.REJECTED: (),
    W.FAILED: (),
}
MACHINE = StateMachine("withdrawal", TRANSITIONS)
HELD = (W.REQUESTED, W.VERIFIED, W.APPROVED)  # the amount sits in ``withdrawing``
RETURNED = (W.REJECTED, W.FAILED)  # the amount went back: it counts against no limit
STAMPS = {
    W.VERIFIED: "verified_at",
    W.APPROVED: "approved_at",
    W.PAYING: "paying_at",
    W.PAID: "finished_at",
    W.REJECTED: "finished_at",
    W.FAILED: "finished_at",
}

V = VerificationStatus
PAYEE_TRANSITIONS: dict[VerificationStatus, tuple[VerificationStatus, ...]] = {
    V.PENDING: (V.VERIFIED, V.FAILED),
    V.VERIFIED: (V.PENDING,),  # the identity or the account changed: check again
    V.FAILED: (V.PENDING,),  # entered again
}
PAYEE_MACHINE = StateMachine("payee", PAYEE_TRANSITIONS)


def move(
    withdrawal: Withdrawal,
    target: WithdrawalStatus,
    now: datetime,
    *,
    reason_code: str | None = None,
    reason: str | None = None,
) -> WithdrawalStatus:
    """The one way a withdrawal's status changes: checks the table, stamps the time and the reason."""
    previous = MACHINE.move(withdrawal, target)
    setattr(withdrawal, STAMPS[target], now)
    if reason_code is not None:
        withdrawal.reason_code, withdrawal.reason = reason_code, reason
    return previous


P = PayoutStatus
PAYOUT_TRANSITIONS: dict[PayoutStatus, tuple[PayoutStatus, ...]] = {
    P.SENDING: (P.PENDING, P.SUCCEEDED, P.FAILED),
    P.PENDING: (P.SUCCEEDED, P.FAILED),
    P.SUCCEEDED: (),
    P.FAILED: (),
}
PAYOUT_MACHINE = StateMachine("payout", PAYOUT_TRANSITIONS)
