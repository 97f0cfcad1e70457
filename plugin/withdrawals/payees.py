"""Who a distributor is paid to: their real name, ID number and payout account, entered once,
checked by the domain (checksum, birth date, adulthood, name), sealed, and verified by the shop's
identity provider before the first withdrawal reaches finance.

The provider is called outside any transaction (it may take seconds); its verdict is applied
only if the payee did not change meanwhile. A provider that cannot answer leaves the payee
pending: the withdrawal sweep asks again.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.errors import AdapterError, PlatformUnavailable
from adapters.payouts.verification import IdentityCheck, IdentityProvider, Verdict
from plugin import db
from plugin.audit import trail
from plugin.db import Database
from plugin.errors import InvalidSetting
from plugin.shops.models import Shop
from plugin.withdrawals import identity, lifecycle, settings
from plugin.withdrawals.errors import PayeeLocked
from plugin.withdrawals.identity import InvalidIdentity
from plugin.withdrawals.keyring import Keyring
from plugin.withdrawals.models import Payee, VerificationStatus, Withdrawal

V = VerificationStatus
ACCOUNT_FORMS = {
    # a WeChat openid of the shop's appid
    "wechat": (re.compile(r"[A-Za-z0-9_-]{6,64}"), "a WeChat openid (letters, digits, _ and -)"),
    # an Alipay login (a phone number or an e-mail address) or a 2088… user id
    "alipay": (
        re.compile(r"(?:1\d{10}|2088\d{12}|[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,})"),
        "an Alipay account: a mobile number, an e-mail address or a 2088… user id",
    ),
    # a bank card or account number: 12 to 30 digits (not every account passes the Luhn check)
    "bank": (re.compile(r"\d{12,30}"), "a bank account number of 12 to 30 digits"),
}


def check_account(channel: str, account: str) -> str:
    """The account, normalized (spaces dropped), if it has the channel's form."""
    if channel not in ACCOUNT_FORMS:
        raise InvalidSetting(f"unknown channel {channel!r}; known: {', '.join(ACCOUNT_FORMS)}", "channel")
    form, described = ACCOUNT_FORMS[channel]
    normalized = "".join(str(account or "").split())
    if not form.fullmatch(normalized):
        raise InvalidSetting(f"the account must be {described}", "account")
    return normalized


def mask_account(account: str) -> str:
    """The account's last 4 characters, the rest as ``*`` (an e-mail keeps its domain)."""
    local, at, domain = account.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return "*" * max(0, len(account) - 4) + account[-4:]


def set_payee(
    session: Session,
    shop: Shop,
    keys: Keyring,
    member_id: int,
    *,
    real_name: str,
    id_number: str,
    channel: str,
    account: str,
    actor: str,
    today: date | None = None,
) -> Payee:
    """Enter or change the payee; it must be verified again (unless nothing changed).

    Raises:
        InvalidIdentity: the name or number cannot be right, or its holder is under 18.
        InvalidSetting: an account not of the channel's form, or a channel the shop does not pay.
    """
    today = today or db.utcnow().date()
    sealed = identity.seal(keys, real_name, id_number, pepper=keys.pepper)
    if not identity.is_adult(identity.check_id_number(id_number), today):
        adult = "withdrawals are paid to adults only; this ID's holder is under 18"
        raise InvalidIdentity(adult, "id_number")
    if channel not in settings.policy_of(session, shop).channels:
        raise InvalidSetting(f"the shop pays nothing through {channel}", "channel")
    account = check_account(channel, account)
    payee = session.scalar(
        select(Payee).where(Payee.shop_id == shop.id, Payee.member_id == member_id).with_for_update()
    )
    if payee is not None and _same(keys, payee, real_name, id_number, channel, account):
        return payee
    if payee is not None and _in_progress(session, shop.id, member_id):
        raise PayeeLocked("a withdrawal is on its way to this account: change it once that one has ended")
    values = dict(
        real_name_sealed=sealed.real_name_sealed,
        id_number_sealed=sealed.id_number_sealed,
        id_number_hash=sealed.id_number_hash,
        masked_name=sealed.masked_name,
        masked_id=sealed.masked_id,
        channel=channel,
        account_sealed=keys.seal(account),
        masked_account=mask_account(account),
        reason_code=None,
        reason=None,
        provider=None,
        provider_reference=None,
        verified_at=None,
    )
    if payee is None:
        payee = Payee(shop_id=shop.id, member_id=member_id, status=V.PENDING, **values)
        session.add(payee)
    else:
        if payee.status != V.PENDING:
            lifecycle.PAYEE_MACHINE.move(payee, V.PENDING)
        for name, value in values.items():
            setattr(payee, name, value)
    session.flush()
    trail.record(
        session,
        shop.id,
        "payee.entered",
        "member",
        member_id,
        actor=actor,
        name=sealed.masked_name,
        id_number=sealed.masked_id,
        channel=channel,
        account=payee.masked_account,
    )
    return payee


def _in_progress(session: Session, shop_id: int, member_id: int) -> bool:
    moving = (*lifecycle.HELD, lifecycle.W.PAYING)
    query = select(Withdrawal.id).where(
        Withdrawal.shop_id == shop_id, Withdrawal.member_id == member_id, Withdrawal.status.in_(moving)
    )
    return session.scalar(query.limit(1)) is not None


def _same(keys: Keyring, payee: Payee, real_name: str, id_number: str, channel: str, account: str) -> bool:
    name, number = keys.open(payee.real_name_sealed), keys.open(payee.id_number_sealed)
    return (
        payee.status != V.FAILED
        and name == identity.check_real_name(real_name)
        and number == identity.check_id_number(id_number)
        and payee.channel == channel
        and keys.open(payee.account_sealed) == check_account(channel, account)
    )


def details(keys: Keyring, payee: Payee) -> IdentityCheck:
    """The payee's name, number and account, opened (``IdentityUnreadable`` if no key opens them)."""
    name, number = identity.unseal(keys, payee)  # a payee row holds the sealed fields
    account = keys.open(payee.account_sealed)
    if account is None:
        raise identity.IdentityUnreadable("the stored payout account cannot be read any more: enter it again")
    return IdentityCheck(real_name=name, id_number=number, channel=payee.channel, account=account)


def verify(
    database: Database, keys: Keyring, payee_id: int, provider: IdentityProvider, now: datetime | None = None
) -> Verdict | None:
    """Ask ``provider`` about a pending payee and record its verdict; None if the payee is not
    pending any more, changed while the provider answered, or the provider could not answer."""
    with database.read() as session:
        payee = session.get(Payee, payee_id)
        if payee is None or payee.status != V.PENDING:
            return None
        seen, check = payee.updated_at, details(keys, payee)
    try:
        verdict = provider.verify(check)
    except PlatformUnavailable:
        return None
    except AdapterError as refused:  # the provider refused the call itself: a setup problem
        verdict = Verdict(False, "provider_refused", f"the identity check could not be made: {refused.code}")
    with database.transaction() as session:
        payee = session.scalar(select(Payee).where(Payee.id == payee_id).with_for_update())
        if payee.status != V.PENDING or payee.updated_at != seen:
            return None
        record(session, payee, verdict, provider.name, now or db.utcnow())
    return verdict


def record(session: Session, payee: Payee, verdict: Verdict, provider: str, now: datetime) -> None:
    target = V.VERIFIED if verdict.passed else V.FAILED
    lifecycle.PAYEE_MACHINE.move(payee, target)
    payee.provider, payee.provider_reference = provider, verdict.reference
    payee.reason_code, payee.reason = verdict.reason_code, verdict.reason
    payee.verified_at = now if verdict.passed else None
    trail.record(
        session,
        payee.shop_id,
        "payee.verified" if verdict.passed else "payee.verification_failed",
        "member",
        payee.member_id,
        provider=provider,
        reason_code=verdict.reason_code,
        reason=verdict.reason,
        reference=verdict.reference,
    )
