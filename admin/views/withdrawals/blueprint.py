"""The Withdrawal Approval blueprint and tab, and the words its pages show for the domain's names.

Only finance and admin open the tab (``Permission.SETTLEMENT``: the roles that move the shop's
money); every other role gets a 403 on every URL of it, reading included, since the pages show
payees' (masked) identities and accounts.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin.area import ACCOUNT_LABELS, COMMISSION_ENTRY_LABELS, Area, Tab, blueprint
from admin.forms.withdrawals import CHANNEL_LABELS, STATUS_LABELS
from plugin.users.roles import Permission

bp = blueprint("withdrawals", "/withdrawals", Permission.SETTLEMENT)
area = Area(
    bp, "withdrawals", Tab("admin_withdrawals.index", _l("Withdrawal Approval"), Permission.SETTLEMENT)
)

# the badge colours admin.css has: done green, refused red, waiting amber
STATUS_BADGES = {
    "requested": "pending",
    "verified": "review",
    "approved": "approved",
    "paying": "pending",
    "paid": "paid",
    "rejected": "cancelled",
    "failed": "failed",
}
PAYEE_LABELS = {
    "pending": _l("not checked yet"),
    "verified": _l("identity verified"),
    "failed": _l("identity check failed"),
}
PAYOUT_LABELS = {
    "sending": _l("being sent"),
    "pending": _l("waiting for the outcome"),
    "succeeded": _l("succeeded"),
    "failed": _l("refused or failed"),
}
# a ledger transaction's memo (the withdrawal's own postings) or kind (commissions)
ENTRY_LABELS = {
    "withdrawal requested": _l("Withdrawal requested"),
    "sent to the gateway": _l("Sent to the gateway (tax and fee withheld)"),
    "the gateway paid": _l("Paid by the gateway"),
    "payout failed": _l("Payout failed: the amount came back"),
    "withdrawal rejected": _l("Withdrawal rejected: the amount came back"),
    **COMMISSION_ENTRY_LABELS,
}
AUDIT_LABELS = {
    "withdrawal.requested": _l("asked for the withdrawal"),
    "withdrawal.verified": _l("the payee's identity was verified"),
    "withdrawal.approved": _l("approved"),
    "withdrawal.rejected": _l("rejected"),
    "withdrawal.paying": _l("the payout was sent"),
    "withdrawal.paid": _l("the payout succeeded"),
    "withdrawal.failed": _l("the payout failed"),
    "payout.contradicted": _l("the gateway contradicted a settled payout"),
}
# keys of an audit event's data that hold fen of the shop's currency
MONEY_KEYS = frozenset({"amount", "fee", "tax", "net", "arrears_repaid", "available_before"})


@bp.context_processor
def labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "status_badges": STATUS_BADGES,
        "channel_labels": CHANNEL_LABELS,
        "payee_labels": PAYEE_LABELS,
        "payout_labels": PAYOUT_LABELS,
        "account_labels": ACCOUNT_LABELS,
        "entry_labels": ENTRY_LABELS,
        "audit_labels": AUDIT_LABELS,
        "money_keys": MONEY_KEYS,
    }
