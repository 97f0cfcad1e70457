"""Withdrawals, for the shop's storefront to show its distributors: the wallet (balances, limits,
fees, the payee, a quote), the payee's identity and account, withdrawal requests with their
progress, and the distributor's notices. Everything is scoped to the shop of the API key; a
member of another shop is a 404.

Decisions:

- Every amount, in and out, is a decimal string of the shop's currency ("123.45"); a refusal's
  ``allowed`` too (the domain's errors carry fen: they are converted here).
- A request may carry ``request_id``, the client's id of it. Sent again (its answer lost), the
  same member's withdrawal with that id is answered (200) instead of a second one being made; the
  same id with another amount is a 409. The lookup runs under the lock on the member's
  ``available`` account that ``requests.request`` takes, so two copies sent at once make one
  withdrawal; a unique constraint on (shop, member, request_id) backs it. A header
  (``Idempotency-Key``) was not used: the id is part of what is stored and answered.
- The payee is never answered in full: its name, ID number and account come back masked.
- The wallet shows each cap with what is ``left``, not what was used: a channel cap counts the
  whole shop's withdrawals through the channel, which is the shop's business, not a distributor's.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.money import Money, exponent
from plugin import db
from plugin.api import withdrawal_schemas as ws
from plugin.api.auth import SECURITY, shop_session
from plugin.errors import FenxiaoError, InvalidSetting, NotFound
from plugin.jobs import tasks
from plugin.ledger import journal
from plugin.members import directory
from plugin.notices import outbox
from plugin.runtime import for_request
from plugin.shops.models import Shop
from plugin.withdrawals import lifecycle, payees, paying, requests, settings
from plugin.withdrawals.errors import InsufficientFunds
from plugin.withdrawals.keyring import keyring
from plugin.withdrawals.limits import Caps, LimitExceeded
from plugin.withdrawals.models import Payee, Withdrawal, WithdrawalApproval

blueprint = Blueprint(
    "withdrawals",
    __name__,
    url_prefix="/api/v1/shops/<id:shop_id>",
    description="Distributors' wallets, payees, withdrawals and notices",
)
MEMBER = "/members/<id:member_id>"
STEPS = (
    ("requested", "requested_at"),
    ("verified", "verified_at"),
    ("approved", "approved_at"),
    ("paying", "paying_at"),
)


class RequestIdReused(FenxiaoError):
    """A ``request_id`` the member already used for a withdrawal of another amount."""

    code = "request_id_reused"
    status = 409


@blueprint.route(f"{MEMBER}/wallet")
@blueprint.arguments(ws.AmountQuery, location="query")
@blueprint.response(200, ws.WalletOut)
@blueprint.doc(security=SECURITY)
def get_wallet(query, shop_id, member_id):
    """Balances, what can be withdrawn, the limits with what is left, the fee, the payee and, for
    ``?amount=``, its quote (422 if the amount is not one or the fee would take all of it)."""
    with shop_session(shop_id) as (session, shop):
        directory.get_member(session, shop_id, member_id)
        amount = None if query["amount"] is None else fen(query["amount"], shop.currency)
        with allowed_as_money(shop.currency):
            return wallet(session, shop, member_id, amount)


@blueprint.route(f"{MEMBER}/payee", methods=["PUT"])
@blueprint.arguments(ws.PayeeIn)
@blueprint.response(200, ws.PayeeOut)
@blueprint.doc(security=SECURITY)
def put_payee(data, shop_id, member_id):
    """Enter or change who withdrawals are paid to; it is verified again before the next one.
    A number that cannot be right is a 422 naming the check that failed; a change while a
    withdrawal is on its way to the old account is a 409 (``payee_locked``)."""
    keys = keyring(for_request().config)
    with shop_session(shop_id) as (session, shop):
        directory.get_member(session, shop_id, member_id)
        payee = payees.set_payee(session, shop, keys, member_id, actor=f"member:{member_id}", **data)
        return payee_out(payee)


@blueprint.route(f"{MEMBER}/withdrawals")
class MemberWithdrawals(MethodView):
    @blueprint.arguments(ws.WithdrawalQuery, location="query")
    @blueprint.response(200, ws.WithdrawalOut(many=True))
    @blueprint.doc(security=SECURITY)
    def get(self, query, shop_id, member_id):
        """The member's withdrawals, newest first (page with ``before_id``)."""
        with shop_session(shop_id) as (session, _shop):
            directory.get_member(session, shop_id, member_id)
            where = [Withdrawal.shop_id == shop_id, Withdrawal.member_id == member_id]
            if query["before_id"] is not None:
                where.append(Withdrawal.id < query["before_id"])
            rows = session.scalars(
                select(Withdrawal).where(*where).order_by(Withdrawal.id.desc()).limit(query["limit"])
            )
            return withdrawals_out(session, list(rows))

    @blueprint.arguments(ws.WithdrawalIn)
    @blueprint.response(201, ws.WithdrawalOut)
    @blueprint.alt_response(
        200, schema=ws.WithdrawalOut, description="the withdrawal this request_id made before"
    )
    @blueprint.doc(security=SECURITY)
    def post(self, data, shop_id, member_id):
        """Ask to withdraw ``amount`` to the member's payee: it moves from available to withdrawing
        at once, then is verified, approved by finance and paid. Refusals: 422
        ``insufficient_funds`` / ``limit_exceeded`` (with ``allowed`` and ``limit``), 409
        ``payee_required``."""
        with shop_session(shop_id) as (session, shop):
            directory.get_member(session, shop_id, member_id)
            amount = fen(data["amount"], shop.currency)
            earlier = made_before(session, shop, member_id, data["request_id"], amount)
            if earlier is not None:
                return withdrawals_out(session, [earlier])[0], 200
            with allowed_as_money(shop.currency):
                made = requests.request(session, shop, member_id, amount, actor=f"member:{member_id}")
            made.request_id = data["request_id"]
            session.flush()
            withdrawal_id = made.id
        tasks.move_withdrawal_on(for_request(), withdrawal_id, "requested")
        return read_one(shop_id, withdrawal_id)


@blueprint.route("/withdrawals/<id:withdrawal_id>")
@blueprint.response(200, ws.WithdrawalOut)
@blueprint.doc(security=SECURITY)
def get_withdrawal(shop_id, withdrawal_id):
    """One withdrawal of the shop's, with its progress."""
    with shop_session(shop_id) as (session, _shop):
        return withdrawals_out(session, [withdrawal_of(session, shop_id, withdrawal_id)])[0]


@blueprint.route(f"{MEMBER}/notices")
@blueprint.arguments(ws.NoticeQuery, location="query")
@blueprint.response(200, ws.NoticeOut(many=True))
@blueprint.doc(security=SECURITY)
def get_notices(query, shop_id, member_id):
    """What the member was told (a withdrawal paid or failed, and why), newest first."""
    with shop_session(shop_id) as (session, _shop):
        directory.get_member(session, shop_id, member_id)
        return outbox.notices_of(
            session, shop_id, member_id, unread_only=query["unread"], limit=query["limit"]
        )


@blueprint.route(f"{MEMBER}/notices/read", methods=["POST"])
@blueprint.arguments(ws.NoticesReadIn)
@blueprint.response(200, ws.NoticesReadOut)
@blueprint.doc(security=SECURITY)
def read_notices(data, shop_id, member_id):
    """Mark the member's notices up to ``up_to_id`` read."""
    with shop_session(shop_id) as (session, _shop):
        directory.get_member(session, shop_id, member_id)
        return {"marked": outbox.mark_read(session, shop_id, member_id, data["up_to_id"])}


def fen(text: str, currency: str) -> int:
    """A positive amount from its decimal string.

    Raises:
        InvalidSetting: more decimal places than the currency has, or not more than zero.
    """
    try:
        amount = Money.parse(text, currency).minor
    except ValueError:
        raise InvalidSetting(
            f"the amount must be a decimal with at most {exponent(currency)} decimal places", "amount"
        ) from None
    if amount <= 0:
        raise InvalidSetting("the amount must be more than 0", "amount")
    return amount


def as_money(amount: int, currency: str) -> str:
    return str(Money(amount, currency).to_decimal())


@contextmanager
def allowed_as_money(currency: str):
    """A refusal's ``allowed`` (fen in the domain) answered as a decimal string like every amount."""
    try:
        yield
    except (InsufficientFunds, LimitExceeded) as refused:
        refused.allowed = as_money(refused.allowed, currency)
        raise


def wallet(session: Session, shop: Shop, member_id: int, amount: int | None) -> dict:
    """The wallet of ``member_id`` (``WalletOut``); quotes ``amount`` when given."""
    currency = shop.currency
    policy = settings.policy_of(session, shop)
    payee = requests.payee_of(session, shop, member_id)
    seen = requests.preview(session, shop, member_id, amount, db.utcnow())
    limits, used = policy.limits, seen.usage
    channel = payee.channel if payee else policy.channels[0]
    through = limits.channel_caps.get(channel, Caps())

    def left(cap: int | None, so_far: int) -> dict | None:
        return (
            None
            if cap is None
            else {"cap": as_money(cap, currency), "left": as_money(max(0, cap - so_far), currency)}
        )

    caps = [cap for cap in (limits.caps.per_transaction, through.per_transaction) if cap is not None]
    balances = journal.member_balances(session, shop.id, member_id, currency)
    return {
        "member_id": member_id,
        "currency": currency,
        "balances": {kind: as_money(value, currency) for kind, value in balances.items()},
        "withdrawable": as_money(seen.withdrawable, currency),
        "limits": {
            "channel": channel,
            "minimum": as_money(limits.minimum, currency),
            "per_transaction": as_money(min(caps), currency) if caps else None,
            "daily": left(limits.caps.daily, used.distributor_today),
            "monthly": left(limits.caps.monthly, used.distributor_month),
            "channel_daily": left(through.daily, used.channel_today),
            "channel_monthly": left(through.monthly, used.channel_month),
        },
        "fee": {"fixed": as_money(limits.fee_fixed, currency), "percent": str(limits.fee_percent)},
        "channels": list(policy.channels),
        "payee": payee_out(payee) if payee else None,
        "quote": seen.quote.as_dict() if seen.quote else None,
    }


def payee_out(payee: Payee) -> dict:
    """The payee, masked (``PayeeOut``): never the name, ID number or account in full."""
    names = ("masked_name", "masked_id", "channel", "masked_account", "status", "reason_code", "reason")
    return {name: getattr(payee, name) for name in names}


def made_before(session: Session, shop: Shop, member_id: int, request_id: str | None, amount: int):
    """The member's withdrawal with ``request_id``, looked up under the lock a request takes
    (None without an id, or if none was made with it).

    Raises:
        RequestIdReused: the id made a withdrawal of another amount.
    """
    if request_id is None:
        return None
    requests.withdrawable(session, shop, member_id, lock=True)
    earlier = session.scalar(
        select(Withdrawal).where(
            Withdrawal.shop_id == shop.id,
            Withdrawal.member_id == member_id,
            Withdrawal.request_id == request_id,
        )
    )
    if earlier is not None and earlier.amount != amount:
        raise RequestIdReused(
            f"request_id {request_id!r} made withdrawal {earlier.id} of "
            f"{as_money(earlier.amount, shop.currency)} {shop.currency}; send a new one for another amount",
            "request_id",
        )
    return earlier


def withdrawal_of(session: Session, shop_id: int, withdrawal_id: int) -> Withdrawal:
    withdrawal = session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.shop_id != shop_id:
        raise NotFound(f"no withdrawal {withdrawal_id} in this shop", "withdrawal_id")
    return withdrawal


def read_one(shop_id: int, withdrawal_id: int) -> dict:
    """The withdrawal as it is now (a job may have moved it on since the commit)."""
    with for_request().database.read() as session:
        return withdrawals_out(session, [withdrawal_of(session, shop_id, withdrawal_id)])[0]


def withdrawals_out(session: Session, rows: list[Withdrawal]) -> list[dict]:
    """``WithdrawalOut`` of each row; the approvals of all of them counted in one query, and
    what each approved one waits for (few are approved at once: their payout follows)."""
    given = {}
    if rows:
        counts = session.execute(
            select(WithdrawalApproval.withdrawal_id, func.count())
            .where(WithdrawalApproval.withdrawal_id.in_([row.id for row in rows]))
            .group_by(WithdrawalApproval.withdrawal_id)
        )
        given = dict(counts.all())
    waits = {
        row.id: paying.waits_for(session, session.get(Shop, row.shop_id), row)
        for row in rows
        if row.status == lifecycle.W.APPROVED
    }
    return [withdrawal_out(row, given.get(row.id, 0), waits.get(row.id)) for row in rows]


def withdrawal_out(withdrawal: Withdrawal, given: int, waits_for: int | None = None) -> dict:
    currency = withdrawal.currency
    plain = ("id", "member_id", "currency", "channel", "masked_account", "status", "reason_code", "reason")
    return {
        **{name: getattr(withdrawal, name) for name in plain},
        **{name: as_money(getattr(withdrawal, name), currency) for name in ("amount", "fee", "tax", "net")},
        "request_id": withdrawal.request_id,
        "requested_at": withdrawal.requested_at,
        "progress": progress(withdrawal),
        "approvals": {"needed": withdrawal.approvals_needed, "given": given},
        "waits_for": waits_for,
    }


def progress(withdrawal: Withdrawal) -> list[dict]:
    """requested → verified → approved → paying → paid, each with when it was reached (None:
    not reached), then the rejected or failed step with its reason if the withdrawal ended so."""
    steps = [{"step": step, "at": getattr(withdrawal, stamp)} for step, stamp in STEPS]
    steps.append(
        {"step": "paid", "at": withdrawal.finished_at if withdrawal.status == lifecycle.W.PAID else None}
    )
    for step in steps:
        step["done"] = step["at"] is not None
    if withdrawal.status in lifecycle.RETURNED:
        steps.append(
            {
                "step": withdrawal.status,
                "at": withdrawal.finished_at,
                "done": True,
                "reason_code": withdrawal.reason_code,
                "reason": withdrawal.reason,
            }
        )
    return steps
