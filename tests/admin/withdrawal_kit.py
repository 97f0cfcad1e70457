"""What the workbench's withdrawal and tax tests share: withdrawals waiting for a person, made
with the domain's own test kit (tests/plugin/withdrawals/kit.py), and a fake payout gateway in
place of the shop's real connectors."""

from __future__ import annotations

import html
import re
from datetime import datetime

from plugin.shops.models import Shop
from plugin.withdrawals import connectors, flow, review
from tests.plugin.withdrawals import kit

WECHAT = "o-openid-1"
CARD = "6222020200112233445"


def waiting(
    database,
    shop_id: int,
    name: str,
    amount: int,
    *,
    channel: str = "wechat",
    account: str | None = None,
    number: str = kit.ID_A,
    real_name: str = "王小明",
    now: datetime = kit.NOW,
) -> tuple[int, int]:
    """A distributor with ¥10,000.00 available and a verified payee, and their withdrawal of
    ``amount`` waiting for approval (``verified``); returns ``(member_id, withdrawal_id)``."""
    member = kit.distributor(database, shop_id, name)
    kit.credit(database, shop_id, member, 1_000_000)
    account = account or (CARD if channel == "bank" else WECHAT)
    kit.enter_payee(
        database, shop_id, member, number=number, name=real_name, channel=channel, account=account
    )
    withdrawal_id = kit.ask(database, shop_id, member, amount, now=now)
    assert flow.advance(database, kit.outside(), withdrawal_id, now) == "verified"
    return member, withdrawal_id


def paid(database, shop_id: int, name: str, amount: int, **options) -> tuple[int, int]:
    """A withdrawal approved in the domain and paid through the kit's fake gateway at ``kit.NOW``."""
    member, withdrawal_id = waiting(database, shop_id, name, amount, **options)
    with database.transaction() as session:
        review.approve(session, session.get(Shop, shop_id), withdrawal_id, "fin-1")
    assert flow.advance(database, kit.outside(), withdrawal_id, kit.NOW) == "paid"
    return member, withdrawal_id


def fake_gateway(monkeypatch) -> kit.FakeGateway:
    """Make the shops' wechat/alipay gateway a ``kit.FakeGateway`` (bank stays a batch file)."""
    fake = kit.FakeGateway()

    def gateway_of(self, session, shop, channel):
        return None if channel == "bank" else fake

    monkeypatch.setattr(connectors.Connectors, "gateway", gateway_of)
    return fake


def text_of(reply) -> str:
    """The page's text, each tag a space, spaces collapsed (what a reader sees, cell by cell)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", reply.get_data(as_text=True))))


def listed(reply) -> list[int]:
    """The withdrawal ids the queue page lists, in order."""
    return [
        int(n) for n in re.findall(r'<td><a href="/admin/withdrawals/(\d+)">', reply.get_data(as_text=True))
    ]
