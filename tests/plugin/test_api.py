"""The JSON API: per-shop API keys, bindings, balances, ledger, orders, OpenAPI, health."""

import pytest

from plugin.cli_demo import seed_chain
from tests.conftest import fixture_bytes


def api(shop, path):
    return f"/api/v1/shops/{shop.id}{path}"


def test_openapi_document_lists_the_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    assert {
        "/api/v1/shops/{shop_id}/members/{member_id}/balances",
        "/api/v1/shops/{shop_id}/orders/{external_id}",
        "/api/v1/shops/{shop_id}/bindings",
        "/api/v1/shops/{shop_id}/members/{member_id}/ledger",
    } <= paths
    assert doc["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}])
def test_requests_without_the_shops_key_are_401(client, shop, headers):
    reply = client.get(api(shop, "/members/1/balances"), headers=headers)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"


def test_another_shops_key_is_401(client, make_shop):
    mine, other = make_shop(), make_shop()
    assert client.get(api(mine, "/members/1/balances"), headers=other.auth).status_code == 401


def test_member_distributor_binding_flow(client, shop):
    def post(path, body):
        return client.post(api(shop, path), json=body, headers=shop.auth)

    inviter = post("/members", {"platform": "shopify", "external_id": "cust-1"}).get_json()["member_id"]
    again = post("/members", {"platform": "shopify", "external_id": "cust-1"}).get_json()["member_id"]
    assert inviter == again
    distributor = post("/distributors", {"member_id": inviter, "invite_code": "INV-ONE1"})
    assert distributor.status_code == 201
    assert distributor.get_json() == {
        "member_id": inviter,
        "level": "B",
        "status": "approved",
        "invite_code": "INV-ONE1",
    }
    invitee = post("/members", {"platform": "shopify", "external_id": "cust-2"}).get_json()["member_id"]
    bound = post("/bindings", {"member_id": invitee, "invite_code": "INV-ONE1"})
    assert bound.status_code == 201
    assert bound.get_json()["ancestors"] == [inviter]
    fetched = client.get(api(shop, f"/members/{invitee}/binding"), headers=shop.auth).get_json()
    assert (fetched["inviter_id"], fetched["source"]) == (inviter, "invite_code")
    refused = post("/bindings", {"member_id": inviter, "invite_code": "INV-ONE1"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "binding_refused"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"member_id": "1", "invite_code": "X"},
        {"member_id": 1},
        {"member_id": 1, "invite_code": "X", "source": "spam"},
    ],
)
def test_bad_binding_requests_are_422_json(client, shop, body):
    reply = client.post(api(shop, "/bindings"), json=body, headers=shop.auth)
    assert reply.status_code == 422
    assert "error" in reply.get_json()


def test_non_json_body_is_4xx_json(client, shop):
    reply = client.post(
        api(shop, "/bindings"), data="nope", headers={**shop.auth, "Content-Type": "text/plain"}
    )
    assert 400 <= reply.status_code < 500
    assert "error" in reply.get_json()


def test_balances_ledger_and_order(client, shop, send, database):
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    balances = client.get(api(shop, f"/members/{chain['D']}/balances"), headers=shop.auth).get_json()
    assert balances == {
        "member_id": chain["D"],
        "currency": "CNY",
        "balances": {"pending": 3980, "available": 0, "withdrawing": 0, "paid": 0, "arrears": 0},
    }
    entries = client.get(api(shop, f"/members/{chain['D']}/ledger?limit=1"), headers=shop.auth).get_json()
    assert len(entries) == 1
    assert (entries[0]["account"], entries[0]["kind"], entries[0]["amount"]) == ("pending", "accrue", -1000)
    older = client.get(
        api(shop, f"/members/{chain['D']}/ledger?before_id={entries[0]['id']}"), headers=shop.auth
    ).get_json()
    assert [e["amount"] for e in older] == [-2980]
    order = client.get(api(shop, "/orders/820982911946154508"), headers=shop.auth).get_json()
    assert (order["status"], order["paid_total"], len(order["lines"])) == ("paid", 39800, 2)
    assert sorted((c["tier"], c["amount"], c["line"]) for c in order["commissions"]) == [
        (1, 1000, "487817672276298555"),
        (1, 2980, "487817672276298554"),
        (2, 500, "487817672276298555"),
        (2, 1490, "487817672276298554"),
    ]


def test_unknown_things_are_404_json(client, shop):
    for path in ("/orders/nope", "/members/999/balances", "/members/999/binding"):
        reply = client.get(api(shop, path), headers=shop.auth)
        assert reply.status_code == 404, path
        assert reply.get_json()["error"]["code"] == "not_found"


def test_healthz_reports_database(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ok", "database": True, "jobs": "inline", "redis": None}
