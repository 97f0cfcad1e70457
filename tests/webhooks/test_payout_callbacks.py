"""A gateway's result callback settles its payout once, through the real Alipay gateway (faked
over HTTP with ``responses``) and the shop's sealed credentials."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from adapters.payouts.alipay import SANDBOX_GATEWAY
from plugin.shops.models import Shop
from plugin.withdrawals import connectors, flow, review
from plugin.withdrawals.models import Payout
from tests.adapters.test_alipay_payouts import (
    ALIPAY_PUBLIC_PEM,
    APP_ID,
    APP_KEY,
    APP_PEM,
    FakeAlipay,
    notification,
    ok,
)
from tests.plugin.withdrawals.kit import (
    KEYS,
    NOW,
    ask,
    balances,
    configure,
    credit,
    distributor,
    enter_payee,
    withdrawal,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def paying(database, shop):
    """A ¥1,000.00 withdrawal to an Alipay account, sent, and left "dealing" by Alipay."""
    configure(database, shop.id, tax_policy="off")
    with database.transaction() as session:
        credentials = dict(app_id=APP_ID, app_private_key=APP_PEM, alipay_public_key=ALIPAY_PUBLIC_PEM)
        connectors.configure(
            session,
            session.get(Shop, shop.id),
            KEYS,
            "alipay",
            {**credentials, "gateway_url": SANDBOX_GATEWAY},
            "admin",
        )
    member = distributor(database, shop.id, "ann")
    credit(database, shop.id, member, 100_000)
    enter_payee(database, shop.id, member, channel="alipay", account="ann@example.com")
    withdrawal_id = ask(database, shop.id, member, 100_000)
    outside = connectors.Connectors(KEYS).outside()
    flow.advance(database, outside, withdrawal_id, NOW)
    with database.transaction() as session:
        review.approve(session, session.get(Shop, shop.id), withdrawal_id, "fin-1")
    with responses.RequestsMock() as mock:
        FakeAlipay(mock).answer("alipay.fund.trans.uni.transfer", ok(status="DEALING", order_id="A-1"))
        assert flow.advance(database, outside, withdrawal_id, NOW) == "paying"
    with database.transaction() as session:
        out_no = session.scalar(select(Payout.out_no))
    return member, withdrawal_id, out_no


def changed(out_no: str, status: str = "SUCCESS") -> dict:
    return {
        "out_biz_no": out_no,
        "order_id": "A-1",
        "status": status,
        "action_type": "FINISH",
        "trans_amount": "1000.00",
    }


def test_alipays_callback_pays_once_and_is_answered_success(client, database, shop, paying):
    member, withdrawal_id, out_no = paying
    url = f"/webhooks/payouts/alipay/{shop.id}"
    for _ in range(2):  # Alipay calls again until it reads "success"
        answer = client.post(url, data=notification(changed(out_no)), headers=FORM)
        assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    assert withdrawal(database, withdrawal_id).status == "paid"
    assert balances(database, shop.id, member)["paid"] == 100_000


def test_a_failed_transfer_reported_by_callback_gives_the_money_back(client, database, shop, paying):
    member, withdrawal_id, out_no = paying
    answer = client.post(
        f"/webhooks/payouts/alipay/{shop.id}", data=notification(changed(out_no, "FAIL")), headers=FORM
    )
    assert answer.status_code == 200
    assert withdrawal(database, withdrawal_id).status == "failed"
    assert balances(database, shop.id, member)["available"] == 100_000


def test_a_callback_not_signed_by_alipay_or_for_another_shop_changes_nothing(
    client, database, shop, make_shop, paying
):
    _, withdrawal_id, out_no = paying
    forged = client.post(
        f"/webhooks/payouts/alipay/{shop.id}", data=notification(changed(out_no), key=APP_KEY), headers=FORM
    )
    assert forged.status_code == 401 and forged.get_json()["error"]["code"] == "bad_signature"
    other = make_shop(name="Other")
    with database.transaction() as session:
        credentials = dict(app_id=APP_ID, app_private_key=APP_PEM, alipay_public_key=ALIPAY_PUBLIC_PEM)
        connectors.configure(session, session.get(Shop, other.id), KEYS, "alipay", credentials, "admin")
    elsewhere = client.post(
        f"/webhooks/payouts/alipay/{other.id}", data=notification(changed(out_no)), headers=FORM
    )
    assert elsewhere.status_code == 404
    assert client.post(f"/webhooks/payouts/paypal/{shop.id}", data=b"x").status_code == 404
    assert withdrawal(database, withdrawal_id).status == "paying"


def test_credentials_are_sealed_and_refused_when_they_do_not_load(database, shop):
    with database.transaction() as session:
        row = session.get(Shop, shop.id)
        with pytest.raises(Exception, match="alipay credentials are refused"):
            connectors.configure(
                session, row, KEYS, "alipay", {"app_id": APP_ID, "app_private_key": "nope"}, "admin"
            )
        connectors.configure(
            session,
            row,
            KEYS,
            "alipay",
            dict(app_id=APP_ID, app_private_key=APP_PEM, alipay_public_key=ALIPAY_PUBLIC_PEM),
            "admin",
        )
        sealed = connectors.settings.row_of(session, row).gateways
    assert APP_ID not in sealed and "PRIVATE" not in sealed
