"""What every payout gateway offers, and what a payout's outcome can be.

A payout carries an idempotency key (``out_no``) derived from its withdrawal, so sending the
same payout twice can never pay twice: the gateways refuse a repeated ``out_no`` or answer with
the first one's outcome. An outcome that is not known (a timeout, a gateway still processing)
is ``PENDING`` and is resolved by ``query``, never by sending again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SUCCEEDED = "succeeded"
FAILED = "failed"  # final: the money did not move; the withdrawal returns it to ``available``
PENDING = "pending"  # not known yet: ask again with ``query``
OUTCOMES = (SUCCEEDED, FAILED, PENDING)


@dataclass(frozen=True)
class Payout:
    out_no: str  # the idempotency key: one per withdrawal, never reused
    amount: int  # minor units, what reaches the payee (after fee and tax)
    currency: str
    payee_account: str  # the wallet's openid, the Alipay account or the bank account number
    payee_name: str  # the real name the channel checks against the account
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    out_no: str
    status: str  # one of OUTCOMES
    reference: str | None = None  # the gateway's own id of the transfer
    reason: str | None = None  # why it failed, in the gateway's words


class PayoutGateway(Protocol):
    channel: str

    def submit(self, payout: Payout) -> Outcome:
        """Ask the gateway to pay; a timeout or an unclear answer is ``PENDING``."""

    def query(self, out_no: str) -> Outcome:
        """The gateway's record of the payout sent as ``out_no``."""
