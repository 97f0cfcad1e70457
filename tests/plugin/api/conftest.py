"""Shared pieces of the withdrawal API tests: a distributor with ¥10,000 available, calls under
the member's path with the shop's key, a payee entered through the API."""

import pytest
from sqlalchemy import func, select

from plugin.shops.models import Shop
from plugin.withdrawals import review
from plugin.withdrawals.models import Withdrawal
from tests.plugin.withdrawals.kit import ID_A, credit, distributor

ACCOUNT = "o-openid-1"
PAYEE = {"real_name": "王小明", "id_number": ID_A, "channel": "wechat", "account": ACCOUNT}
MASKED = {
    "masked_name": "王**",
    "masked_id": "110***********002X",
    "channel": "wechat",
    "masked_account": "******id-1",
    "status": "pending",
    "reason_code": None,
    "reason": None,
}
UNTOUCHED = {"pending": 0, "available": 1_000_000, "withdrawing": 0, "paid": 0, "arrears": 0}


def api(shop, path):
    return f"/api/v1/shops/{shop.id}{path}"


@pytest.fixture
def member(database, shop):
    member_id = distributor(database, shop.id, "ann")
    credit(database, shop.id, member_id, 1_000_000)  # ¥10,000.00
    return member_id


@pytest.fixture
def call(client, shop, member):
    """``call(method, path_under_the_member, **kwargs)`` with the shop's key."""

    def send(method, path, **kwargs):
        return client.open(api(shop, f"/members/{member}{path}"), method=method, headers=shop.auth, **kwargs)

    return send


@pytest.fixture
def payee(call):
    reply = call("PUT", "/payee", json=PAYEE)
    assert reply.status_code == 200, reply.get_json()


def withdrawals_in(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Withdrawal))


def ask(call, amount, **extra):
    return call("POST", "/withdrawals", json={"amount": amount, **extra})


def approve(database, shop_id, withdrawal_id):
    with database.transaction() as session:
        review.approve(session, session.get(Shop, shop_id), withdrawal_id, "fin-1")
