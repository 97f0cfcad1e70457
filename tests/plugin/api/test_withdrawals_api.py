"""The distributor-facing withdrawal API: the wallet, the payee, requests and their refusals."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from plugin.withdrawals.models import Payee
from tests.plugin.api.conftest import ACCOUNT, MASKED, PAYEE, UNTOUCHED, api, ask, withdrawals_in
from tests.plugin.withdrawals.kit import ID_A, ID_B, balances, configure, credit, distributor


def test_the_wallet_shows_balances_limits_fee_and_channels(call):
    reply = call("GET", "/wallet")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "member_id": reply.get_json()["member_id"],
        "currency": "CNY",
        "balances": {
            "pending": "0.00",
            "available": "10000.00",
            "withdrawing": "0.00",
            "paid": "0.00",
            "arrears": "0.00",
        },
        "withdrawable": "10000.00",
        "limits": {
            "channel": "wechat",
            "minimum": "1.00",
            "per_transaction": "50000.00",
            "daily": None,
            "monthly": None,
            "channel_daily": None,
            "channel_monthly": None,
        },
        "fee": {"fixed": "0.00", "percent": "0"},
        "channels": ["wechat", "alipay"],
        "payee": None,
        "quote": None,
    }


def test_the_wallet_quotes_an_amount_and_shows_what_each_cap_leaves(call, database, shop, payee):
    configure(
        database,
        shop.id,
        daily=200_000,
        monthly=500_000,
        fee_fixed=100,
        fee_percent="1",
        channel_caps={"wechat": {"per_transaction": 300_000, "daily": 1_000_000}},
    )
    quoted = call("GET", "/wallet?amount=1500").get_json()
    # fee 1.00 + 1 % = 16.00; taxed 1484.00 − 800 at 20 % = 136.80
    assert quoted["quote"] == {"amount": "1500.00", "fee": "16.00", "tax": "136.80", "net": "1347.20"}
    assert quoted["payee"] == MASKED
    assert quoted["fee"] == {"fixed": "1.00", "percent": "1"}
    assert ask(call, "1000.00").status_code == 201
    wallet = call("GET", "/wallet").get_json()
    assert wallet["quote"] is None
    assert wallet["limits"] == {
        "channel": "wechat",
        "minimum": "1.00",
        "per_transaction": "3000.00",
        "daily": {"cap": "2000.00", "left": "1000.00"},
        "monthly": {"cap": "5000.00", "left": "4000.00"},
        "channel_daily": {"cap": "10000.00", "left": "9000.00"},
        "channel_monthly": None,
    }
    assert (wallet["withdrawable"], wallet["payee"]["status"]) == ("9000.00", "verified")


@pytest.mark.parametrize(
    ("amount", "code", "field"),
    [
        ("abc", "invalid_request", "query.amount"),
        ("-1", "invalid_request", "query.amount"),
        ("1e5", "invalid_request", "query.amount"),
        ("1.234", "invalid_setting", "amount"),
        ("0.00", "invalid_setting", "amount"),
    ],
)
def test_a_bad_amount_to_quote_is_422(call, amount, code, field):
    reply = call("GET", f"/wallet?amount={amount}")
    assert reply.status_code == 422
    assert (reply.get_json()["error"]["code"], reply.get_json()["error"]["field"]) == (code, field)


def test_the_payee_is_answered_masked_never_in_full(call):
    reply = call("PUT", "/payee", json=PAYEE)
    assert reply.status_code == 200
    assert reply.get_json() == MASKED
    assert ID_A not in reply.get_data(as_text=True)
    assert ACCOUNT not in reply.get_data(as_text=True)
    assert call("GET", "/wallet").get_json()["payee"] == MASKED


def test_an_id_number_with_a_wrong_check_digit_is_422_without_the_number(call, database):
    wrong = ID_A[:-1] + "1"
    reply = call("PUT", "/payee", json={**PAYEE, "id_number": wrong})
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_identity", "id_number")
    assert "check digit" in error["message"]
    assert wrong not in reply.get_data(as_text=True)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payee)) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [({"channel": "bank", "account": "6222020200112233445"}, "channel"), ({"account": "o!"}, "account")],
)
def test_an_account_the_shop_cannot_pay_is_422(call, database, change, field):
    reply = call("PUT", "/payee", json={**PAYEE, **change})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == field
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payee)) == 0


def test_a_request_is_verified_at_once_and_moves_available_to_withdrawing(
    call, client, database, shop, member, payee
):
    reply = ask(call, "3000.00")
    assert reply.status_code == 201
    body = reply.get_json()
    assert {k: v for k, v in body.items() if k not in ("id", "requested_at", "progress")} == {
        "member_id": member,
        "currency": "CNY",
        "amount": "3000.00",
        "fee": "0.00",
        "tax": "0.00",
        "net": "3000.00",
        "channel": "wechat",
        "masked_account": "******id-1",
        "status": "verified",
        "reason_code": None,
        "reason": None,
        "request_id": None,
        "approvals": {"needed": 1, "given": 0},
        "waits_for": None,
    }
    assert [(s["step"], s["done"]) for s in body["progress"]] == [
        ("requested", True),
        ("verified", True),
        ("approved", False),
        ("paying", False),
        ("paid", False),
    ]
    assert datetime.fromisoformat(body["progress"][1]["at"]).utcoffset() == UTC.utcoffset(None)
    assert body["progress"][2]["at"] is None
    wallet = call("GET", "/wallet").get_json()
    assert (wallet["balances"]["available"], wallet["balances"]["withdrawing"]) == ("7000.00", "3000.00")
    assert wallet["withdrawable"] == "7000.00"
    assert balances(database, shop.id, member) == {**UNTOUCHED, "available": 700_000, "withdrawing": 300_000}
    assert call("GET", "/withdrawals").get_json() == [body]
    assert client.get(api(shop, f"/withdrawals/{body['id']}"), headers=shop.auth).get_json() == body


def test_more_than_withdrawable_is_422_with_allowed_and_writes_nothing(call, database, shop, member, payee):
    reply = ask(call, "10000.01")
    assert reply.status_code == 422
    assert reply.get_json()["error"] == {
        "code": "insufficient_funds",
        "message": "you can withdraw at most 10000.00 CNY now",
        "field": "amount",
        "allowed": "10000.00",
    }
    assert balances(database, shop.id, member) == UNTOUCHED
    assert withdrawals_in(database) == 0


def test_a_limit_is_422_naming_it_and_writes_nothing(call, database, shop, member, payee):
    configure(database, shop.id, daily=200_000)
    assert ask(call, "1500.00").status_code == 201
    reply = ask(call, "600.00")
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert (error["code"], error["limit"], error["allowed"]) == ("limit_exceeded", "daily", "500.00")
    assert error["message"] == "at most 2000.00 CNY can be withdrawn a day; 500.00 CNY is left"
    assert balances(database, shop.id, member) == {**UNTOUCHED, "available": 850_000, "withdrawing": 150_000}
    assert withdrawals_in(database) == 1


def test_no_payee_is_409_and_writes_nothing(call, database, shop, member):
    reply = ask(call, "100.00")
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "payee_required"
    assert balances(database, shop.id, member) == UNTOUCHED
    assert withdrawals_in(database) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 100}, "json.amount"),
        ({"amount": 100.5}, "json.amount"),
        ({}, "json.amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.00", "request_id": "x" * 65}, "json.request_id"),
    ],
)
def test_a_bad_request_body_is_422_and_writes_nothing(call, database, shop, member, payee, body, field):
    reply = call("POST", "/withdrawals", json=body)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == field
    assert balances(database, shop.id, member) == UNTOUCHED
    assert withdrawals_in(database) == 0


def test_a_request_sent_again_with_its_request_id_makes_one_withdrawal(call, database, shop, member, payee):
    first = ask(call, "100.00", request_id="req-1")
    again = ask(call, "100.00", request_id="req-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert first.get_json()["request_id"] == "req-1"
    other = ask(call, "200.00", request_id="req-1")
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "request_id_reused"
    assert withdrawals_in(database) == 1
    assert balances(database, shop.id, member)["withdrawing"] == 10_000
    assert ask(call, "100.00", request_id="req-2").status_code == 201
    assert withdrawals_in(database) == 2


def test_copies_of_a_request_sent_at_once_make_one_withdrawal(app, database, shop, member, payee):
    def post(_):
        reply = app.test_client().post(
            api(shop, f"/members/{member}/withdrawals"),
            json={"amount": "100.00", "request_id": "tap-twice"},
            headers=shop.auth,
        )
        return reply.status_code, reply.get_json()["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(post, range(6)))
    assert sorted(status for status, _ in results) == [200] * 5 + [201]
    assert len({withdrawal_id for _, withdrawal_id in results}) == 1
    assert withdrawals_in(database) == 1
    assert balances(database, shop.id, member) == {**UNTOUCHED, "available": 990_000, "withdrawing": 10_000}


def test_the_payee_cannot_change_while_a_withdrawal_is_on_its_way(call, payee):
    assert ask(call, "100.00").status_code == 201
    reply = call("PUT", "/payee", json={**PAYEE, "account": "o-openid-2"})
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "payee_locked"
    assert call("GET", "/wallet").get_json()["payee"]["masked_account"] == "******id-1"
    assert call("PUT", "/payee", json=PAYEE).status_code == 200  # the same details are no change


def test_another_shops_member_and_withdrawal_are_404(client, database, shop, make_shop):
    other = make_shop()
    stranger = distributor(database, other.id, "bob")
    credit(database, other.id, stranger, 100_000)
    put = client.put(
        api(other, f"/members/{stranger}/payee"), json={**PAYEE, "id_number": ID_B}, headers=other.auth
    )
    assert put.status_code == 200
    made = client.post(
        api(other, f"/members/{stranger}/withdrawals"), json={"amount": "10.00"}, headers=other.auth
    )
    assert made.status_code == 201
    paths = [
        ("GET", f"/members/{stranger}/wallet", None),
        ("PUT", f"/members/{stranger}/payee", PAYEE),
        ("GET", f"/members/{stranger}/withdrawals", None),
        ("POST", f"/members/{stranger}/withdrawals", {"amount": "1.00"}),
        ("GET", f"/members/{stranger}/notices", None),
        ("POST", f"/members/{stranger}/notices/read", {"up_to_id": 1}),
        ("GET", f"/withdrawals/{made.get_json()['id']}", None),
    ]
    for method, path, body in paths:
        reply = client.open(api(shop, path), method=method, json=body, headers=shop.auth)
        assert reply.status_code == 404, path
        assert reply.get_json()["error"]["code"] == "not_found"
    assert balances(database, other.id, stranger)["withdrawing"] == 1_000
    assert withdrawals_in(database) == 1
    denied = client.get(api(other, f"/members/{stranger}/wallet"), headers=shop.auth)
    assert denied.status_code == 401


def test_withdrawals_are_listed_newest_first_in_keyset_pages(call, payee):
    made = [ask(call, amount).get_json()["id"] for amount in ("1.00", "2.00", "3.00")]
    page = call("GET", "/withdrawals?limit=2").get_json()
    assert [(w["id"], w["amount"]) for w in page] == [(made[2], "3.00"), (made[1], "2.00")]
    rest = call("GET", f"/withdrawals?limit=2&before_id={page[-1]['id']}").get_json()
    assert [(w["id"], w["amount"]) for w in rest] == [(made[0], "1.00")]
    assert call("GET", f"/withdrawals?before_id={made[0]}").get_json() == []
    assert call("GET", "/withdrawals?limit=0").status_code == 422
