"""The withdrawal API after the request: each withdrawal's progress to paid, failed or rejected,
the notices the distributor is sent, and the OpenAPI document."""

from datetime import datetime

from sqlalchemy import select

from adapters.payouts import base
from plugin.shops.models import Shop
from plugin.withdrawals import flow, paying, review
from plugin.withdrawals.models import Payout
from tests.plugin.api.conftest import api, approve, ask
from tests.plugin.withdrawals.kit import FakeGateway, outside


def test_the_progress_of_a_paid_withdrawal(call, client, database, shop, member, payee):
    withdrawal_id = ask(call, "5000.00").get_json()["id"]
    approve(database, shop.id, withdrawal_id)
    assert flow.advance(database, outside(), withdrawal_id) == "paid"
    body = client.get(api(shop, f"/withdrawals/{withdrawal_id}"), headers=shop.auth).get_json()
    # ¥5,000: taxable 80 % at 20 % = 800.00
    assert (body["status"], body["amount"], body["tax"], body["net"]) == (
        "paid",
        "5000.00",
        "800.00",
        "4200.00",
    )
    assert body["approvals"] == {"needed": 1, "given": 1}
    assert [(s["step"], s["done"]) for s in body["progress"]] == [
        ("requested", True),
        ("verified", True),
        ("approved", True),
        ("paying", True),
        ("paid", True),
    ]
    stamps = [datetime.fromisoformat(s["at"]) for s in body["progress"]]
    assert stamps == sorted(stamps)
    assert call("GET", "/wallet").get_json()["balances"] == {
        "pending": "0.00",
        "available": "5000.00",
        "withdrawing": "0.00",
        "paid": "4200.00",
        "arrears": "0.00",
    }


def test_a_failed_payout_ends_the_progress_with_its_reason(call, client, database, shop, payee):
    withdrawal_id = ask(call, "100.00").get_json()["id"]
    approve(database, shop.id, withdrawal_id)
    assert (
        flow.advance(database, outside(gateway=FakeGateway(script=[base.FAILED])), withdrawal_id) == "failed"
    )
    body = client.get(api(shop, f"/withdrawals/{withdrawal_id}"), headers=shop.auth).get_json()
    assert (body["status"], body["reason_code"]) == ("failed", "payout_failed")
    assert [(s["step"], s["done"]) for s in body["progress"]] == [
        ("requested", True),
        ("verified", True),
        ("approved", True),
        ("paying", True),
        ("paid", False),
        ("failed", True),
    ]
    last = body["progress"][-1]
    assert (last["reason_code"], last["reason"]) == ("payout_failed", "NOT_ENOUGH: merchant balance too low")
    assert "reason" not in body["progress"][0]
    assert call("GET", "/wallet").get_json()["balances"]["available"] == "10000.00"


def test_a_rejected_withdrawal_ends_the_progress_with_finances_reason(call, database, shop, payee):
    withdrawal_id = ask(call, "100.00").get_json()["id"]
    with database.transaction() as session:
        review.reject(session, session.get(Shop, shop.id), withdrawal_id, "fin-1", "account closed")
    (body,) = call("GET", "/withdrawals").get_json()
    assert [(s["step"], s["done"]) for s in body["progress"]][-3:] == [
        ("paying", False),
        ("paid", False),
        ("rejected", True),
    ]
    assert (body["progress"][-1]["reason"], body["reason"]) == ("account closed", "account closed")


def test_a_withdrawal_waiting_for_the_persons_payout_in_flight_says_which(call, database, shop, payee):
    gateway = FakeGateway(script=[base.PENDING])
    first = ask(call, "5000.00").get_json()["id"]
    approve(database, shop.id, first)
    assert flow.advance(database, outside(gateway=gateway), first) == "paying"
    second = ask(call, "3000.00").get_json()["id"]
    approve(database, shop.id, second)
    assert flow.advance(database, outside(gateway=gateway), second) == "approved"
    listed = {body["id"]: body for body in call("GET", "/withdrawals").get_json()}
    assert (listed[second]["status"], listed[second]["waits_for"]) == ("approved", first)
    assert listed[first]["waits_for"] is None
    with database.transaction() as session:
        out_no = session.scalar(select(Payout.out_no).where(Payout.withdrawal_id == first))
    assert paying.apply(database, base.Outcome(out_no, base.SUCCEEDED), source="callback") == "succeeded"
    (body,) = [b for b in call("GET", "/withdrawals").get_json() if b["id"] == second]
    assert (body["status"], body["waits_for"]) == ("approved", None)  # the next sweep sends it


def test_notices_are_listed_and_marked_read(call, database, shop, payee):
    paid = ask(call, "100.00").get_json()["id"]
    approve(database, shop.id, paid)
    flow.advance(database, outside(), paid)
    failed = ask(call, "200.00").get_json()["id"]
    approve(database, shop.id, failed)
    flow.advance(database, outside(gateway=FakeGateway(script=[base.FAILED])), failed)
    notices = call("GET", "/notices").get_json()
    assert [(n["kind"], n["subject_id"], n["read_at"]) for n in notices] == [
        ("withdrawal.failed", str(failed), None),
        ("withdrawal.paid", str(paid), None),
    ]
    assert notices[1]["message"] == f"Your withdrawal {paid} of 100.00 CNY was paid."
    marked = call("POST", "/notices/read", json={"up_to_id": notices[1]["id"]})
    assert (marked.status_code, marked.get_json()) == (200, {"marked": 1})
    unread = call("GET", "/notices?unread=1").get_json()
    assert [n["id"] for n in unread] == [notices[0]["id"]]
    assert call("POST", "/notices/read", json={"up_to_id": notices[1]["id"]}).get_json() == {"marked": 0}
    assert call("GET", "/notices?limit=1").get_json()[0]["id"] == notices[0]["id"]
    bad = call("POST", "/notices/read", json={"up_to_id": "1"})
    assert (bad.status_code, bad.get_json()["error"]["field"]) == (422, "json.up_to_id")


def test_the_openapi_document_documents_the_withdrawal_api_and_stays_valid(client):
    import openapi_spec_validator as validator

    doc = client.get("/api/v1/openapi.json").get_json()
    validator.validate(doc)
    prefix = "/api/v1/shops/{shop_id}"
    assert {
        f"{prefix}/members/{{member_id}}/wallet",
        f"{prefix}/members/{{member_id}}/payee",
        f"{prefix}/members/{{member_id}}/withdrawals",
        f"{prefix}/withdrawals/{{withdrawal_id}}",
        f"{prefix}/members/{{member_id}}/notices",
        f"{prefix}/members/{{member_id}}/notices/read",
    } <= set(doc["paths"])
    post = doc["paths"][f"{prefix}/members/{{member_id}}/withdrawals"]["post"]
    assert {"200", "201", "422"} <= set(post["responses"])
    assert post["security"] == [{"ApiKey": []}, {"Bearer": []}]
    schemas = doc["components"]["schemas"]
    assert {"WalletOut", "PayeeIn", "PayeeOut", "WithdrawalIn", "WithdrawalOut", "ProgressStep"} <= set(
        schemas
    )
    assert schemas["WithdrawalIn"]["properties"]["amount"]["type"] == "string"
