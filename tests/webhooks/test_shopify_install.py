"""The Shopify install through the app: start -> Shopify -> callback, against a fake Admin API.

A good callback stores the token encrypted, points every topic at the shop's intake and
connects the shop, audited; every refused callback is a 4xx that writes nothing and calls
nothing; a platform failure leaves the connection pending with its error, ready to run again.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import select

from adapters.clients import shopify
from plugin import runtime
from plugin.audit.models import AuditEvent
from plugin.config import secret_key
from plugin.db import utcnow
from plugin.platforms import connections, install
from plugin.platforms.models import PlatformConnection
from plugin.platforms.vault import Vault
from plugin.shops import tenants
from tests.adapters.test_shopify_client import DOMAIN, SECRET, FakeShopify
from tests.conftest import fixture_json

TOKEN = fixture_json("shopify", "oauth_access_token")["access_token"]


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeShopify(mock)


@pytest.fixture
def shop(make_shop, database):
    handle = make_shop(webhook_secret=SECRET)
    with database.transaction() as session:
        connections.configure(
            session, tenants.get_shop(session, handle.id), client_id="app-client-id", shop_ref=DOMAIN
        )
    return handle


def begin(client, shop) -> str:
    """Open the install link; returns the ``state`` Shopify is told to send back."""
    reply = client.get(f"/install/shopify/{shop.id}")
    assert reply.status_code == 302, reply.get_json()
    return parse_qs(urlsplit(reply.headers["Location"]).query)["state"][0]


def redirect_back(shop, state: str, *, code="good-code", domain=DOMAIN, secret=SECRET) -> dict:
    """The query Shopify signs when it sends the merchant back."""
    query = {"code": code, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtbw", "shop": domain}
    query.update(state=state, timestamp="1795000000")
    return {**query, "hmac": shopify.sign_callback(query, secret)}


def callback(client, shop, query: dict):
    return client.get(f"/install/shopify/{shop.id}/callback", query_string=query)


def connection(database, shop) -> PlatformConnection:
    with database.transaction() as session:
        row = session.get(PlatformConnection, shop.id)
        session.expunge(row)
        return row


def actions(database, shop) -> list[str]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.shop_id == shop.id).order_by(AuditEvent.id)
            )
        )


def intake(shop) -> str:
    return f"http://localhost/webhooks/shopify/{shop.id}"


def test_the_install_link_redirects_to_shopify_with_a_fresh_state(client, database, shop):
    reply = client.get(f"/install/shopify/{shop.id}")
    assert reply.status_code == 302
    location = urlsplit(reply.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", DOMAIN, "/admin/oauth/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == ["app-client-id"] and query["scope"] == ["read_orders"]
    assert query["redirect_uri"] == [f"http://localhost/install/shopify/{shop.id}/callback"]
    (state,) = query["state"]
    row = connection(database, shop)
    assert row.status == "pending"
    assert row.oauth_state == hashlib.sha256(state.encode()).hexdigest() != state  # only its hash is kept
    assert utcnow() + timedelta(minutes=9) < row.oauth_state_expires_at <= utcnow() + timedelta(minutes=10)
    assert actions(database, shop)[-2:] == ["platform.pending", "platform.install_started"]
    assert begin(client, shop) != state  # every start makes a new nonce


def test_a_good_callback_stores_the_token_encrypted_registers_the_webhooks_and_connects(
    client, app, database, shop, fake
):
    reply = callback(client, shop, redirect_back(shop, begin(client, shop)))
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {
        "status": "connected",
        "shop_id": shop.id,
        "shop": DOMAIN,
        "scopes": "read_orders,write_orders",
        "webhooks": {"created": list(install.WEBHOOK_TOPICS), "updated": [], "unchanged": []},
    }
    assert fake.by_topic() == {topic: [intake(shop)] for topic in install.WEBHOOK_TOPICS}
    row = connection(database, shop)
    assert (row.status, row.scopes, row.oauth_state, row.last_error) == (
        "connected",
        "read_orders,write_orders",
        None,
        None,
    )
    assert row.connected_at is not None
    assert TOKEN not in row.access_token  # sealed by the vault
    vault = Vault(secret_key(app.extensions[runtime.EXTENSION].config))
    with database.transaction() as session:
        stored = connections.DbTokenStore(session, session.get(PlatformConnection, shop.id), vault).load()
    assert stored.access_token == TOKEN
    assert actions(database, shop)[-4:] == [
        "platform.pending",
        "platform.install_started",
        "platform.connected",
        "platform.webhooks_registered",
    ]
    with database.transaction() as session:
        registered = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "platform.webhooks_registered")
        )
        assert (registered.actor, registered.data["address"]) == ("shopify-install", intake(shop))


def test_installing_again_reuses_the_subscriptions(client, database, shop, fake):
    assert callback(client, shop, redirect_back(shop, begin(client, shop))).status_code == 200
    fake.codes["second-code"] = fixture_json("shopify", "oauth_access_token")
    reply = callback(client, shop, redirect_back(shop, begin(client, shop), code="second-code"))
    assert reply.status_code == 200
    assert reply.get_json()["webhooks"] == {
        "created": [],
        "updated": [],
        "unchanged": list(install.WEBHOOK_TOPICS),
    }
    assert connection(database, shop).status == "connected"


def test_opening_the_install_link_of_a_connected_shop_disconnects_nothing(client, database, shop, fake):
    assert callback(client, shop, redirect_back(shop, begin(client, shop))).status_code == 200
    token = connection(database, shop).access_token
    begin(client, shop)  # anyone may open the link: it needs no login
    row = connection(database, shop)
    assert (row.status, row.access_token) == ("connected", token)
    assert row.oauth_state is not None  # a new install may still finish with it


def refused(database, shop, fake, reply, status: int, code: str, *, state_kept: bool = True) -> None:
    """The callback was refused with ``status``/``code``, wrote nothing and called nothing."""
    assert reply.status_code == status
    assert reply.get_json()["error"]["code"] == code
    row = connection(database, shop)
    assert (row.status, row.access_token, row.last_error) == ("pending", None, None)
    assert (row.oauth_state is not None) is state_kept
    assert "platform.connected" not in actions(database, shop)
    assert fake.by_topic() == {}


def test_a_callback_with_a_bad_hmac_is_401(client, database, shop, fake):
    query = redirect_back(shop, begin(client, shop))
    reply = callback(client, shop, {**query, "code": "another-code"})
    refused(database, shop, fake, reply, 401, "bad_callback_signature")
    reply = callback(client, shop, redirect_back(shop, query["state"], secret="not-the-apps-secret-000"))
    refused(database, shop, fake, reply, 401, "bad_callback_signature")
    reply = callback(client, shop, {key: value for key, value in query.items() if key != "hmac"})
    refused(database, shop, fake, reply, 401, "bad_callback_signature")


def test_a_callback_with_a_wrong_state_is_403(client, database, shop, fake):
    begin(client, shop)
    reply = callback(client, shop, redirect_back(shop, "a-state-we-never-issued"))
    refused(database, shop, fake, reply, 403, "invalid_state")


def test_a_callback_after_the_state_expired_is_403(client, database, shop, fake):
    state = begin(client, shop)
    with database.transaction() as session:
        session.get(PlatformConnection, shop.id).oauth_state_expires_at = utcnow() - timedelta(seconds=1)
    reply = callback(client, shop, redirect_back(shop, state))
    refused(database, shop, fake, reply, 403, "state_expired")


def test_a_callback_used_twice_is_refused_the_second_time(client, database, shop, fake):
    query = redirect_back(shop, begin(client, shop))
    assert callback(client, shop, query).status_code == 200
    exchanges = len(fake.calls("POST", "/admin/oauth/access_token"))
    reply = callback(client, shop, query)
    assert reply.status_code == 403 and reply.get_json()["error"]["code"] == "invalid_state"
    assert len(fake.calls("POST", "/admin/oauth/access_token")) == exchanges == 1


def test_a_callback_for_another_shop_is_403(client, database, shop, fake):
    state = begin(client, shop)
    reply = callback(client, shop, redirect_back(shop, state, domain="other-shop.myshopify.com"))
    refused(database, shop, fake, reply, 403, "shop_mismatch")


def test_a_callback_without_a_code_is_400(client, database, shop, fake):
    state = begin(client, shop)
    query = {"shop": DOMAIN, "state": state, "timestamp": "1795000000"}
    reply = callback(client, shop, {**query, "hmac": shopify.sign_callback(query, SECRET)})
    refused(database, shop, fake, reply, 400, "bad_callback")


def test_a_code_shopify_refuses_leaves_the_connection_pending_with_its_error(client, database, shop, fake):
    reply = callback(client, shop, redirect_back(shop, begin(client, shop), code="expired-code"))
    assert reply.status_code == 502 and reply.get_json()["error"]["code"] == "install_failed"
    row = connection(database, shop)
    assert (row.status, row.access_token, row.oauth_state) == ("pending", None, None)
    assert row.last_error.startswith("install failed at the token exchange: shopify refused POST")
    assert actions(database, shop)[-1] == "platform.install_failed"
    assert fake.by_topic() == {}
    # run again: a new start and a good code connect the shop and clear the error
    assert callback(client, shop, redirect_back(shop, begin(client, shop))).status_code == 200
    row = connection(database, shop)
    assert (row.status, row.last_error) == ("connected", None)


def test_a_refused_webhook_registration_stores_no_token(client, database, shop, fake):
    fake.refuse_creates = True
    reply = callback(client, shop, redirect_back(shop, begin(client, shop)))
    assert reply.status_code == 502 and reply.get_json()["error"]["code"] == "install_failed"
    row = connection(database, shop)
    assert (row.status, row.access_token, row.scopes) == ("pending", None, None)
    assert row.last_error.startswith("install failed at the webhook registration")
    assert "platform.connected" not in actions(database, shop)


@pytest.mark.parametrize(
    "hmac_ok, domain, status", [(True, DOMAIN, 302), (False, DOMAIN, 401), (True, "x.myshopify.com", 403)]
)
def test_an_install_link_shopify_signed_is_checked(client, database, shop, hmac_ok, domain, status):
    query = {"shop": domain, "timestamp": "1795000000"}
    query["hmac"] = shopify.sign_callback(query, SECRET if hmac_ok else "not-the-apps-secret-000")
    reply = client.get(f"/install/shopify/{shop.id}", query_string=query)
    assert reply.status_code == status
    assert connection(database, shop).status == ("pending" if status == 302 else "new")


def test_a_shop_that_cannot_be_installed_is_409_or_404(client, database, make_shop):
    bare = make_shop(webhook_secret=SECRET)
    reply = client.get(f"/install/shopify/{bare.id}")
    assert reply.status_code == 409 and reply.get_json()["error"]["field"] == "client_id"
    with database.transaction() as session:
        connections.configure(
            session,
            tenants.get_shop(session, bare.id),
            client_id="app",
            shop_ref="demo.myshopify.com.evil.test",
        )
    reply = client.get(f"/install/shopify/{bare.id}")
    assert reply.status_code == 409 and reply.get_json()["error"]["field"] == "shop_ref"
    assert client.get("/install/shopify/999999").status_code == 404
    youzan = make_shop(platform="youzan", webhook_secret=SECRET)
    reply = client.get(f"/install/shopify/{youzan.id}")
    assert reply.status_code == 409 and reply.get_json()["error"]["field"] == "platform"
    assert connection(database, bare).status == "new"
