"""The JSON API: per-shop API keys, bindings, balances, ledger, orders, OpenAPI, health."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from plugin.cli.demo import seed_chain
from plugin.members.models import Binding
from tests.conftest import fixture_bytes
from tests.plugin import shopify_orders as so

PAID_AT = datetime(2026, 11, 5, 12, tzinfo=UTC)


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
    assert doc["components"]["securitySchemes"] == {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        "Bearer": {"type": "http", "scheme": "bearer", "description": "the shop's API key as a bearer token"},
    }
    balances = doc["paths"]["/api/v1/shops/{shop_id}/members/{member_id}/balances"]["get"]
    assert balances["security"] == [{"ApiKey": []}, {"Bearer": []}]
    shop_id = next(
        p for p in doc["paths"]["/api/v1/shops/{shop_id}/bindings"]["parameters"] if p["name"] == "shop_id"
    )
    assert shop_id["schema"] == {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}


def test_the_key_works_as_a_bearer_token(client, shop):
    reply = client.get(api(shop, "/rules"), headers={"Authorization": f"Bearer {shop.api_key}"})
    assert reply.status_code == 200
    assert [v["version"] for v in reply.get_json()] == [1]


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
        "region": None,
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
    ("body", "fields"),
    [
        (
            {},
            {
                "json.member_id": ["Missing data for required field."],
                "json.invite_code": ["Missing data for required field."],
            },
        ),
        ({"member_id": "1", "invite_code": "X"}, {"json.member_id": ["Not a valid integer."]}),
        ({"member_id": 1}, {"json.invite_code": ["Missing data for required field."]}),
        (
            {"member_id": 1, "invite_code": "X", "source": "spam"},
            {"json.source": ["Must be one of: invite_code, link, qr, order_ref."]},
        ),
        (
            {"member_id": 2**63, "invite_code": "X"},
            {
                "json.member_id": [
                    "Must be greater than or equal to 1 and less than or equal to 9223372036854775807."
                ]
            },
        ),
        (
            {"member_id": 0, "invite_code": "X"},
            {
                "json.member_id": [
                    "Must be greater than or equal to 1 and less than or equal to 9223372036854775807."
                ]
            },
        ),
    ],
)
def test_bad_binding_requests_are_422_naming_every_field(client, shop, database, body, fields):
    reply = client.post(api(shop, "/bindings"), json=body, headers=shop.auth)
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    first = next(iter(fields))  # the schema's first field in error
    assert error == {
        "code": "invalid_request",
        "field": first,
        "message": f"{first}: {fields[first][0]}",
        "fields": fields,
    }
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Binding)) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("nope", "text/plain"), ("{bad", "application/json"), ("[1]", "application/json")],
)
def test_a_body_that_is_not_a_json_object_is_400_naming_the_body(client, shop, data, content_type):
    reply = client.post(
        api(shop, "/bindings"), data=data, headers={**shop.auth, "Content-Type": content_type}
    )
    assert reply.status_code == 400
    assert reply.get_json() == {
        "error": {"code": "bad_request", "message": "the body must be a JSON object", "field": "body"}
    }


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/v1/shops/{2**63}/members/1/balances", 404),
        ("/api/v1/shops/{shop}/members/" + str(2**63) + "/balances", 404),
        ("/api/v1/shops/{shop}/members/0/balances", 404),
        ("/api/v1/shops/{shop}/members/-1/balances", 404),
        ("/api/v1/shops/{shop}/rules/" + str(2**31), 404),
        ("/api/v1/shops/{shop}/rules/" + str(2**40), 404),
        ("/api/v1/shops/{shop}/members/1/ledger?before_id=" + str(2**63), 422),
        ("/api/v1/shops/{shop}/members/1/ledger?before_id=0", 422),
    ],
)
def test_ids_beyond_the_columns_range_are_404_or_422_never_500(client, shop, path, status):
    reply = client.get(path.format(shop=shop.id), headers=shop.auth)
    assert reply.status_code == status, reply.get_json()
    assert reply.get_json()["error"]["code"] == ("not_found" if status == 404 else "invalid_request")


def test_a_rollback_to_a_version_beyond_the_column_is_422(client, shop):
    reply = client.post(
        api(shop, "/rules/rollback"), json={"version": 2**31, "actor": "ops"}, headers=shop.auth
    )
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"] == "json.version"


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
    assert set(entries[0]) == {
        "id",
        "transaction_id",
        "kind",
        "account",
        "amount",
        "currency",
        "posted_at",
        "memo",
    }
    assert entries[0]["currency"] == "CNY"
    assert entries[0]["memo"] == "order 820982911946154508 line 487817672276298555 tier 1"
    assert datetime.fromisoformat(entries[0]["posted_at"]).tzinfo is not None
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
    first = order["commissions"][0]
    assert set(first) == {
        "id",
        "line",
        "beneficiary_id",
        "tier",
        "amount",
        "reversed",
        "status",
        "rule_version",
        "settle_after",
        "explanation",
    }
    assert (first["beneficiary_id"], first["reversed"], first["status"]) == (chain["D"], 0, "pending")
    assert (first["rule_version"], first["settle_after"]) == (1, None)
    assert first["explanation"]


def test_unknown_things_are_404_json(client, shop):
    for path in ("/orders/nope", "/members/999/balances", "/members/999/binding"):
        reply = client.get(api(shop, path), headers=shop.auth)
        assert reply.status_code == 404, path
        assert reply.get_json()["error"]["code"] == "not_found"


def test_an_order_is_looked_up_in_its_own_shop_by_its_own_id(client, make_shop, send):
    """Two shops may hold orders with the same platform id; each sees only its own."""
    first, second = make_shop(name="First"), make_shop(name="Second")
    for shop, customer in ((first, 7001), (second, 7002)):
        assert send(shop, "orders/paid", so.order(42, PAID_AT, [10000], customer=customer)).status_code == 200
    assert send(first, "orders/paid", so.order(43, PAID_AT, [20000], customer=7001)).status_code == 200
    buyers = {}
    for shop in (first, second):
        order = client.get(api(shop, "/orders/42"), headers=shop.auth).get_json()
        assert (order["external_id"], order["paid_total"]) == ("42", 10000)
        buyers[shop.id] = order["buyer_member_id"]
    assert buyers[first.id] != buyers[second.id]
    missing = client.get(api(second, "/orders/43"), headers=second.auth)
    assert (missing.status_code, missing.get_json()) == (
        404,
        {"error": {"code": "not_found", "message": "no order 43", "field": "external_id"}},
    )


def test_healthz_reports_database(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ok", "database": True, "jobs": "inline", "redis": None}


def test_a_distributors_level_and_region_can_be_changed_and_are_audited(client, shop, database):
    from plugin.audit.models import AuditEvent

    def call(method, path, body):
        return client.open(api(shop, path), method=method, json=body, headers=shop.auth)

    member = call("POST", "/members", {"platform": "shopify", "external_id": "p-1"}).get_json()["member_id"]
    created = call(
        "POST", "/distributors", {"member_id": member, "level": "city_partner", "region": "Hangzhou"}
    )
    assert (created.status_code, created.get_json()["region"]) == (201, "Hangzhou")
    moved = call("PATCH", f"/distributors/{member}", {"region": "Suzhou", "level": "S"})
    assert moved.status_code == 200
    assert (moved.get_json()["region"], moved.get_json()["level"]) == ("Suzhou", "S")
    cleared = call("PATCH", f"/distributors/{member}", {"region": None})
    assert (cleared.get_json()["region"], cleared.get_json()["level"]) == (None, "S")
    assert call("PATCH", f"/distributors/{member}", {"region": ""}).status_code == 422
    assert call("PATCH", "/distributors/999", {"region": "x"}).status_code == 404
    with database.transaction() as session:
        changes = [
            e.data
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "distributor.updated").order_by(AuditEvent.id)
            )
        ]
    assert changes == [
        {"level": ["city_partner", "S"], "region": ["Hangzhou", "Suzhou"]},
        {"region": ["Suzhou", None]},
    ]


def test_the_category_tree_is_replaced_read_and_validated(client, shop):
    url = api(shop, "/categories")
    tree = {"longjing": "green-tea", "green-tea": "tea", "tea": "drinks", "gift_cards": None}
    put = client.put(url, json={"parents": tree}, headers=shop.auth)
    assert put.status_code == 200
    assert put.get_json() == {"categories": 5, "parents": {**tree, "drinks": None}}
    assert client.get(url, headers=shop.auth).get_json()["parents"]["drinks"] is None
    cycle = client.put(url, json={"parents": {"a": "b", "b": "a"}}, headers=shop.auth)
    assert cycle.status_code == 422
    assert cycle.get_json()["error"]["code"] == "invalid_setting"
    assert cycle.get_json()["error"]["field"] in ("parents.a", "parents.b")
    assert client.get(url, headers=shop.auth).get_json()["categories"] == 5  # the old tree stands
    deep = {f"c{n}": f"c{n + 1}" for n in range(17)}
    assert client.put(url, json={"parents": deep}, headers=shop.auth).status_code == 422
    assert client.put(url, json={"parents": {"x": 3}}, headers=shop.auth).status_code == 422
