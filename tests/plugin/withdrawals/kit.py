"""Shared pieces of the withdrawal tests: a shop's distributors with money to withdraw, fake
outside parties (an identity provider, a gateway that records what it was asked), and readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from adapters.errors import PlatformUnavailable
from adapters.payouts import base
from adapters.payouts.verification import Verdict
from plugin.audit.models import AuditEvent
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.shops.models import Shop
from plugin.withdrawals import flow, payees, requests, settings
from plugin.withdrawals.keyring import TESTING_KEY, Keyring
from plugin.withdrawals.models import Withdrawal

KEYS = Keyring([TESTING_KEY], "testing-only-pepper")
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
ID_A = "11010519491231002X"  # the standard's own sample


def with_check(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


ID_B = with_check("11010519800101001")
ID_C = with_check("31010419900315002")


@dataclass
class FakeProvider:
    name: str = "fake"
    verdict: Verdict = field(default_factory=lambda: Verdict(True, reference="chk-1"))
    unavailable: bool = False
    calls: list = field(default_factory=list)

    def verify(self, check):
        self.calls.append(check)
        if self.unavailable:
            raise PlatformUnavailable("identity provider: 503")
        return self.verdict


@dataclass
class FakeGateway:
    """Answers each submit with the next scripted status (SUCCEEDED when none is left) and
    queries with ``settled`` (or what it answered); records every call."""

    channel: str = "wechat"
    script: list = field(default_factory=list)
    settled: dict = field(default_factory=dict)
    submitted: list = field(default_factory=list)
    queried: list = field(default_factory=list)

    def submit(self, payout: base.Payout) -> base.Outcome:
        self.submitted.append(payout)
        status = self.script.pop(0) if self.script else base.SUCCEEDED
        reason = "NOT_ENOUGH: merchant balance too low" if status == base.FAILED else None
        return base.Outcome(payout.out_no, status, reference=f"ref-{payout.out_no}", reason=reason)

    def query(self, out_no: str) -> base.Outcome:
        self.queried.append(out_no)
        status = self.settled.get(out_no, base.SUCCEEDED)
        return base.Outcome(out_no, status, reference=f"ref-{out_no}")


def outside(provider=None, gateway=None) -> flow.Outside:
    provider = provider or FakeProvider()
    gateway = gateway or FakeGateway()
    return flow.Outside(
        keys=KEYS,
        identity_provider=lambda session, shop: provider,
        gateways=lambda session, shop, channel: None if channel == "bank" else gateway,
    )


def distributor(database, shop_id: int, name: str) -> int:
    with database.transaction() as session:
        member = member_for_identity(session, shop_id, "shopify", name)
        make_distributor(session, shop_id, member.id, invite_code=f"INV-{name}")
        return member.id


def credit(database, shop_id: int, member_id: int, amount: int, kind=AccountKind.AVAILABLE, key=None) -> None:
    """Put ``amount`` on a distributor's account as settled commission would (or arrears)."""
    with database.transaction() as session:
        shop = session.get(Shop, shop_id)
        account = journal.account(session, shop_id, member_id, kind, shop.currency)
        expense = journal.shop_account(session, shop_id, AccountKind.COMMISSION_EXPENSE, shop.currency)
        legs = (
            [journal.debit(account, amount), journal.credit(expense, amount)]
            if kind == AccountKind.ARREARS
            else [journal.debit(expense, amount), journal.credit(account, amount)]
        )
        journal.post(session, shop_id, key or f"test:{member_id}:{kind}:{amount}", "test", legs)


def enter_payee(
    database, shop_id, member_id, *, number=ID_A, name="王小明", channel="wechat", account="o-openid-1"
):
    with database.transaction() as session:
        payee = payees.set_payee(
            session,
            session.get(Shop, shop_id),
            KEYS,
            member_id,
            real_name=name,
            id_number=number,
            channel=channel,
            account=account,
            actor=f"member:{member_id}",
            today=NOW.date(),
        )
        return payee.id


def configure(database, shop_id, **changes) -> None:
    with database.transaction() as session:
        settings.update(session, session.get(Shop, shop_id), "admin", **changes)


def ask(database, shop_id, member_id, amount, now=NOW) -> int:
    with database.transaction() as session:
        shop = session.get(Shop, shop_id)
        return requests.request(session, shop, member_id, amount, actor=f"member:{member_id}", now=now).id


def balances(database, shop_id, member_id) -> dict[str, int]:
    with database.transaction() as session:
        return journal.member_balances(session, shop_id, member_id, "CNY")


def shop_balance(database, shop_id, kind) -> int:
    with database.transaction() as session:
        return journal.balance(session, journal.shop_account(session, shop_id, kind, "CNY"))


def withdrawal(database, withdrawal_id) -> Withdrawal:
    with database.transaction() as session:
        return session.get(Withdrawal, withdrawal_id)


def actions(database, shop_id) -> list[str]:
    with database.transaction() as session:
        query = select(AuditEvent.action).where(AuditEvent.shop_id == shop_id).order_by(AuditEvent.id)
        return [action for action in session.scalars(query) if action.startswith(("withdrawal", "payee"))]
