"""Shop settings (admin only): the settings form, the webhook secret, API keys, deliveries with
replay, and users — per role, per shop, with CSRF, field errors and their real effects."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from adapters.base import Token
from plugin import runtime
from plugin.audit.models import AuditEvent
from plugin.cli.demo import seed_chain
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.orders import lifecycle
from plugin.orders.models import Order
from plugin.platforms import connections
from plugin.platforms.vault import Vault
from plugin.shops import apikeys
from plugin.shops.models import ApiKey, Shop, ShopSecret
from plugin.users.models import User
from tests.admin.conftest import PASSWORD, login, post
from tests.conftest import fixture_bytes
from tests.plugin.test_deliveries import stored

SETTINGS = "/admin/settings/"
VALID = {
    "tier_depth": "3",
    "after_sales_days": "14",
    "timezone": "Europe/Berlin",
    "currency": "EUR",
    "commission_ceiling": "40.50",
}


def shop_row(database, shop_id) -> Shop:
    with database.read() as session:
        return session.get(Shop, shop_id)


def settings_of(database, shop_id) -> tuple:
    s = shop_row(database, shop_id)
    return (s.tier_depth, s.after_sales_days, s.timezone, s.currency, s.commission_ceiling_bp)


def audit(database, action) -> list[AuditEvent]:
    with database.read() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def count(database, model, *where) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def errors_of(html: str, field: str) -> str:
    found = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    assert found, f"no errors on {field}"
    return found.group(1)


def key_id(database, shop_id, name) -> int:
    with database.read() as session:
        return session.scalar(select(ApiKey.id).where(ApiKey.shop_id == shop_id, ApiKey.name == name))


def user_id(database, email) -> int:
    with database.read() as session:
        return session.scalar(select(User.id).where(User.email == email))


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def broken(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database on fire")

    working = lifecycle.apply_snapshot
    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    return lambda: monkeypatch.setattr(lifecycle, "apply_snapshot", working)


def dead_delivery(database, shop) -> int:
    event_id = stored(database, shop)
    for _ in range(mailbox.MAX_ATTEMPTS):
        mailbox.process(database, event_id)
    return event_id


# --- roles -----------------------------------------------------------------------------------

PAGES = [SETTINGS, SETTINGS + "keys", SETTINGS + "deliveries", SETTINGS + "users"]


@pytest.mark.parametrize("role", ["viewer", "operator", "finance"])
def test_only_an_admin_may_open_or_change_anything(role, as_role, shop, database, make_user):
    client = as_role(role)
    victim = make_user(shop.id, "viewer")
    victim_id = user_id(database, victim)
    key = key_id(database, shop.id, "initial key")
    before = (settings_of(database, shop.id), count(database, ShopSecret), count(database, ApiKey))
    audited = count(database, AuditEvent)
    for page in PAGES + [SETTINGS + f"keys/{key}/revoke"]:
        assert client.get(page).status_code == 403, page
    writes = {
        SETTINGS: VALID,
        SETTINGS + "secret": {},
        SETTINGS + "keys": {"name": "sneaky"},
        SETTINGS + f"keys/{key}/revoke": {},
        SETTINGS + "deliveries/1/replay": {},
        SETTINGS + "users": {"email": "new@example.com", "role": "admin", "password": PASSWORD},
        SETTINGS + f"users/{victim_id}/role": {"role": "admin"},
        SETTINGS + f"users/{victim_id}/disable": {},
    }
    for path, data in writes.items():
        assert post(client, path, data, token_from="/admin/audit/").status_code == 403, path
    assert (settings_of(database, shop.id), count(database, ShopSecret), count(database, ApiKey)) == before
    assert count(database, AuditEvent) == audited
    with database.read() as session:
        user = session.get(User, victim_id)
        assert (user.role, user.active) == ("viewer", True)
    with database.read() as session:
        assert apikeys.is_valid(session, shop.id, shop.api_key)


def test_an_admin_sees_every_page_and_the_tab(admin):
    for page in PAGES:
        assert admin.get(page).status_code == 200, page
    assert 'href="/admin/settings/"' in admin.get("/admin/").get_data(as_text=True)


def test_writes_without_the_csrf_token_are_refused_and_change_nothing(admin, shop, database, make_user):
    other = user_id(database, make_user(shop.id, "viewer"))
    key = key_id(database, shop.id, "initial key")
    before = (settings_of(database, shop.id), count(database, ShopSecret), count(database, ApiKey))
    audited = count(database, AuditEvent)
    for path, data in {
        SETTINGS: VALID,
        SETTINGS + "secret": {},
        SETTINGS + "keys": {"name": "k"},
        SETTINGS + f"keys/{key}/revoke": {},
        SETTINGS + "deliveries/1/replay": {},
        SETTINGS + "users": {"email": "new@example.com", "role": "admin", "password": PASSWORD},
        SETTINGS + f"users/{other}/role": {"role": "admin"},
        SETTINGS + f"users/{other}/disable": {},
    }.items():
        reply = admin.post(path, data=data)
        assert reply.status_code == 400, path
        assert "The form expired" in reply.get_data(as_text=True)
    assert (settings_of(database, shop.id), count(database, ShopSecret), count(database, ApiKey)) == before
    assert count(database, AuditEvent) == audited
    assert count(database, User, User.email == "new@example.com") == 0


# --- the settings form -----------------------------------------------------------------------


def test_the_form_shows_the_shops_settings(admin):
    html = admin.get(SETTINGS).get_data(as_text=True)
    assert re.search(r'<option selected value="2">2</option>', html)  # tier depth of a new shop
    assert 'value="7"' in html and 'value="CNY"' in html and 'value="50.00"' in html
    assert '<option selected value="Asia/Shanghai">' in html


def test_saving_changes_every_setting_in_one_audited_step(admin, shop, database):
    reply = post(admin, SETTINGS, VALID, token_from=SETTINGS)
    assert reply.status_code == 302
    assert settings_of(database, shop.id) == (3, 14, "Europe/Berlin", "EUR", 4050)
    [event] = audit(database, "shop.settings_changed")
    assert (event.actor, event.subject_type, event.subject_id) == (admin.email, "shop", str(shop.id))
    assert event.data == {
        "tier_depth": {"before": 2, "after": 3},
        "after_sales_days": {"before": 7, "after": 14},
        "timezone": {"before": "Asia/Shanghai", "after": "Europe/Berlin"},
        "currency": {"before": "CNY", "after": "EUR"},
        "commission_ceiling_bp": {"before": 5000, "after": 4050},
    }
    assert "Settings saved." in admin.get(SETTINGS).get_data(as_text=True)
    post(admin, SETTINGS, VALID, token_from=SETTINGS)  # the same values again
    assert len(audit(database, "shop.settings_changed")) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tier_depth", "4", "Tier depth must be 1, 2 or 3."),
        ("tier_depth", "x", None),
        ("after_sales_days", "91", "The after-sales window must be 0 to 90 days."),
        ("after_sales_days", "", None),
        ("timezone", "Mars/Olympus", "Pick a time zone from the list."),
        ("currency", "eur1", None),
        ("currency", "E1R", "Use a 3-letter ISO-4217 code in capitals, such as CNY."),
        ("commission_ceiling", "0", "The ceiling must be 0.01 % to 100 % of a line."),
        ("commission_ceiling", "100.01", "The ceiling must be 0.01 % to 100 % of a line."),
        ("commission_ceiling", "12.345", "Use at most 2 decimal places."),
        ("commission_ceiling", "lots", None),
    ],
)
def test_a_bad_value_is_named_on_its_field_and_nothing_is_stored(
    admin, shop, database, field, value, message
):
    before = settings_of(database, shop.id)
    reply = post(admin, SETTINGS, {**VALID, field: value}, token_from=SETTINGS)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    errors = errors_of(html, field)
    if message:
        assert message in errors
    assert settings_of(database, shop.id) == before
    assert audit(database, "shop.settings_changed") == []


def test_a_depth_or_ceiling_the_active_rules_break_is_refused_on_that_field(admin, shop, database):
    # the default rules pay tier 1 10 % and tier 2 5 %: 15 % in all, down to tier 2
    before = settings_of(database, shop.id)
    shallow = {**VALID, "currency": "CNY", "tier_depth": "1", "commission_ceiling": "50.00"}
    reply = post(admin, SETTINGS, shallow, token_from=SETTINGS)
    assert reply.status_code == 400
    assert "The active commission rules (v1) would break this setting" in errors_of(
        reply.get_data(as_text=True), "tier_depth"
    )
    low = {**VALID, "currency": "CNY", "tier_depth": "2", "commission_ceiling": "14.99"}
    reply = post(admin, SETTINGS, low, token_from=SETTINGS)
    assert reply.status_code == 400
    assert "Publish rules that fit first." in errors_of(reply.get_data(as_text=True), "commission_ceiling")
    assert settings_of(database, shop.id) == before
    exact = {**low, "commission_ceiling": "15.00"}
    assert post(admin, SETTINGS, exact, token_from=SETTINGS).status_code == 302
    assert settings_of(database, shop.id)[4] == 1500


def test_the_currency_cannot_change_once_the_shop_has_orders(admin, shop, database, send):
    assert send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid")).status_code == 200
    assert count(database, Order, Order.shop_id == shop.id) == 1
    reply = post(admin, SETTINGS, VALID, token_from=SETTINGS)
    assert reply.status_code == 400
    assert "The currency cannot change once the shop has orders" in errors_of(
        reply.get_data(as_text=True), "currency"
    )
    assert settings_of(database, shop.id)[3] == "CNY"
    assert settings_of(database, shop.id)[0] == 2  # nothing else was stored either
    assert post(admin, SETTINGS, {**VALID, "currency": "CNY"}, token_from=SETTINGS).status_code == 302
    assert settings_of(database, shop.id) == (3, 14, "Europe/Berlin", "CNY", 4050)


# --- webhook and secret --------------------------------------------------------------------


def test_the_webhook_url_is_the_shops_on_this_host(admin, shop):
    html = admin.get(SETTINGS).get_data(as_text=True)
    assert f"http://localhost/webhooks/shopify/{shop.id}" in html


def test_rotating_shows_the_new_secret_once_and_both_secrets_verify_within_the_grace(
    admin, app, shop, database, send
):
    reply = post(admin, SETTINGS + "secret", token_from=SETTINGS)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    new_secret = re.search(r'<code id="new-secret">([^<]+)</code>', html).group(1)
    with database.read() as session:
        stored_secrets = session.execute(
            select(ShopSecret.secret, ShopSecret.expires_at)
            .where(ShopSecret.shop_id == shop.id)
            .order_by(ShopSecret.id)
        ).all()
    assert [s for s, _ in stored_secrets] == [shop.secret, new_secret]
    old_expiry = stored_secrets[0][1]
    assert old_expiry is not None and stored_secrets[1][1] is None
    assert "The old secret is still accepted until" in html
    assert new_secret not in admin.get(SETTINGS).get_data(as_text=True)  # once
    [event] = audit(database, "shop.secret_rotated")
    assert event.actor == admin.email

    order = fixture_bytes("shopify", "orders_paid")
    assert send(shop, "orders/paid", order).status_code == 200  # the old secret, within the grace
    renewed = dataclasses.replace(shop, secret=new_secret)
    assert send(renewed, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled")).status_code == 200
    with database.transaction() as session:
        session.execute(
            update(ShopSecret)
            .where(ShopSecret.secret == shop.secret)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    app.extensions[runtime.EXTENSION].credentials.forget(shop.id)  # as the cache's TTL would
    assert send(shop, "orders/paid", order + b" ").status_code == 401  # the grace is over


# --- API keys ------------------------------------------------------------------------------


def test_a_created_key_is_shown_once_works_and_stops_after_revoking(admin, shop, database, client):
    reply = post(admin, SETTINGS + "keys", {"name": "mini-program"}, token_from=SETTINGS + "keys")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-key">([^<]+)</code>', html).group(1)
    assert "shown only once" in html
    url = f"/api/v1/shops/{shop.id}/categories"
    assert client.get(url, headers={"X-Api-Key": key}).status_code == 200
    listing = admin.get(SETTINGS + "keys").get_data(as_text=True)
    assert "mini-program" in listing and f"<code>{key[:10]}…</code>" in listing and key not in listing
    assert admin.email in listing
    [created] = audit(database, "api_key.created")[-1:]
    assert (created.actor, created.data) == (admin.email, {"name": "mini-program"})

    made = key_id(database, shop.id, "mini-program")
    confirm = admin.get(SETTINGS + f"keys/{made}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert client.get(url, headers={"X-Api-Key": key}).status_code == 200  # asking is not revoking
    reply = post(admin, SETTINGS + f"keys/{made}/revoke", token_from=SETTINGS + "keys")
    assert reply.status_code == 302
    assert client.get(url, headers={"X-Api-Key": key}).status_code == 401
    assert client.get(url, headers=shop.auth).status_code == 200  # the other key still works
    assert audit(database, "api_key.revoked")[-1].actor == admin.email


def test_a_key_needs_a_name(admin, shop, database):
    keys = count(database, ApiKey)
    reply = post(admin, SETTINGS + "keys", {"name": "  "}, token_from=SETTINGS + "keys")
    assert reply.status_code == 400
    errors_of(reply.get_data(as_text=True), "name")
    assert count(database, ApiKey) == keys


def test_another_shops_key_is_not_found_and_keeps_working(admin, other_shop, database, client):
    theirs = key_id(database, other_shop.id, "initial key")
    assert admin.get(SETTINGS + f"keys/{theirs}/revoke").status_code == 404
    assert post(admin, SETTINGS + f"keys/{theirs}/revoke", token_from=SETTINGS + "keys").status_code == 404
    assert client.get(f"/api/v1/shops/{other_shop.id}/categories", headers=other_shop.auth).status_code == 200
    assert audit(database, "api_key.revoked") == []


# --- deliveries ----------------------------------------------------------------------------


def test_deliveries_show_their_outcome_and_filter_by_it(admin, shop, database, send):
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    send(shop, "customers/create", b'{"id": 5}')
    html = admin.get(SETTINGS + "deliveries").get_data(as_text=True)
    rows = re.findall(r"<code>(orders/paid|customers/create)</code>", html)
    assert rows == ["customers/create", "orders/paid"]  # newest first
    assert "topic customers/create is not acted on" in html
    only = admin.get(SETTINGS + "deliveries?status=ignored").get_data(as_text=True)
    assert "<code>customers/create</code>" in only and "<code>orders/paid</code>" not in only
    assert admin.get(SETTINGS + "deliveries?status=lost").status_code == 400
    assert admin.get(SETTINGS + "deliveries?before=nonsense").status_code == 400


def test_replaying_a_dead_delivery_processes_it(admin, shop, database, broken):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    event_id = dead_delivery(database, shop)
    html = admin.get(SETTINGS + "deliveries?status=dead").get_data(as_text=True)
    assert (
        f"/admin/settings/deliveries/{event_id}/replay" in html and "RuntimeError: database on fire" in html
    )
    broken()
    reply = post(admin, SETTINGS + f"deliveries/{event_id}/replay", token_from=SETTINGS + "deliveries")
    assert reply.status_code == 302
    with database.read() as session:
        assert session.get(InboxEvent, event_id).status == "processed"
    assert count(database, Order, Order.shop_id == shop.id) == 1
    assert f"Delivery #{event_id} replayed: processed." in admin.get(SETTINGS + "deliveries").get_data(
        as_text=True
    )
    [event] = audit(database, "inbox.replayed")
    assert (event.actor, event.subject_id) == (admin.email, str(event_id))


def test_a_delivery_that_is_not_dead_is_not_replayed(admin, shop, database, send):
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.read() as session:
        event_id = session.scalar(select(InboxEvent.id).where(InboxEvent.shop_id == shop.id))
    reply = post(admin, SETTINGS + f"deliveries/{event_id}/replay", token_from=SETTINGS + "deliveries")
    assert reply.status_code == 302
    assert "Only a dead delivery can be replayed." in admin.get(SETTINGS + "deliveries").get_data(
        as_text=True
    )
    assert audit(database, "inbox.replayed") == []


def test_another_shops_delivery_is_not_found_and_stays_dead(admin, other_shop, database, broken):
    event_id = dead_delivery(database, other_shop)
    broken()
    assert "/replay" not in admin.get(SETTINGS + "deliveries").get_data(as_text=True)
    reply = post(admin, SETTINGS + f"deliveries/{event_id}/replay", token_from=SETTINGS + "deliveries")
    assert reply.status_code == 404
    with database.read() as session:
        assert session.get(InboxEvent, event_id).status == "dead"
    assert audit(database, "inbox.replayed") == []


# --- users ---------------------------------------------------------------------------------


def test_users_are_listed_and_an_added_user_can_log_in(admin, app, shop, database, make_user, other_shop):
    stranger = make_user(other_shop.id, "admin")
    html = admin.get(SETTINGS + "users").get_data(as_text=True)
    assert admin.email in html and stranger not in html
    data = {"email": "New.Person@Example.com", "role": "finance", "password": PASSWORD}
    assert post(admin, SETTINGS + "users", data, token_from=SETTINGS + "users").status_code == 302
    with database.read() as session:
        user = session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert (user.shop_id, user.role, user.active) == (shop.id, "finance", True)
    assert audit(database, "user.added")[-1].actor == admin.email
    assert login(app.test_client(), "new.person@example.com").status_code == 302


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address", "role": "viewer", "password": PASSWORD}, "email"),
        ({"email": "x@example.com", "role": "viewer", "password": "short"}, "password"),
        ({"email": "x@example.com", "role": "owner", "password": PASSWORD}, "role"),
    ],
)
def test_a_bad_new_user_is_named_on_the_field(admin, database, data, field):
    users = count(database, User)
    reply = post(admin, SETTINGS + "users", data, token_from=SETTINGS + "users")
    assert reply.status_code == 400
    errors_of(reply.get_data(as_text=True), field)
    assert count(database, User) == users


def test_a_taken_email_is_refused_on_the_field(admin, database):
    reply = post(
        admin,
        SETTINGS + "users",
        {"email": admin.email, "role": "viewer", "password": PASSWORD},
        token_from=SETTINGS + "users",
    )
    assert reply.status_code == 400
    assert "has no account yet" in errors_of(reply.get_data(as_text=True), "email")


def test_a_role_change_and_disabling_take_effect_at_once(admin, app, shop, database, make_user):
    email = make_user(shop.id, "viewer")
    person = app.test_client()
    login(person, email)
    target = user_id(database, email)
    assert (
        post(
            admin, SETTINGS + f"users/{target}/role", {"role": "operator"}, token_from=SETTINGS + "users"
        ).status_code
        == 302
    )
    assert audit(database, "user.role_changed")[-1].data == {
        "email": email,
        "before": "viewer",
        "after": "operator",
    }
    assert post(admin, SETTINGS + f"users/{target}/disable", token_from=SETTINGS + "users").status_code == 302
    with database.read() as session:
        assert (session.get(User, target).role, session.get(User, target).active) == ("operator", False)
    assert person.get("/admin/").status_code == 302  # sent to the login form
    assert post(admin, SETTINGS + f"users/{target}/enable", token_from=SETTINGS + "users").status_code == 302
    assert [e.action for e in audit(database, "user.disabled") + audit(database, "user.enabled")] == [
        "user.disabled",
        "user.enabled",
    ]
    assert login(app.test_client(), email).status_code == 302


def test_an_admin_cannot_demote_or_disable_themselves(admin, database):
    me = user_id(database, admin.email)
    for path, data, message in (
        (f"users/{me}/role", {"role": "viewer"}, "You cannot change your own role."),
        (f"users/{me}/disable", {}, "You cannot disable your own account."),
    ):
        reply = post(admin, SETTINGS + path, data, token_from=SETTINGS + "users")
        assert reply.status_code == 400
        assert message in errors_of(reply.get_data(as_text=True), f"user-{me}")
    with database.read() as session:
        assert (session.get(User, me).role, session.get(User, me).active) == ("admin", True)
    assert audit(database, "user.role_changed") == audit(database, "user.disabled") == []


def test_another_shops_user_is_not_found_and_unchanged(admin, other_shop, database, make_user):
    theirs = user_id(database, make_user(other_shop.id, "viewer"))
    for path, data in ((f"users/{theirs}/role", {"role": "admin"}), (f"users/{theirs}/disable", {})):
        assert post(admin, SETTINGS + path, data, token_from=SETTINGS + "users").status_code == 404
    with database.read() as session:
        assert (session.get(User, theirs).role, session.get(User, theirs).active) == ("viewer", True)


def test_the_pages_speak_chinese(admin):
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = admin.get(SETTINGS).get_data(as_text=True)
    assert "佣金上限" in html


def test_the_platform_section_shows_where_to_paste_and_the_install_state(as_role, make_shop, database, app):
    youzan = make_shop(name="Youzan shop", platform="youzan")
    admin = as_role("admin", shop_id=youzan.id)
    html = admin.get(SETTINGS).get_data(as_text=True)
    assert f"http://localhost/webhooks/youzan/{youzan.id}" in html
    assert "message push settings" in html
    assert 'id="install-state">not configured<' in html
    assert "fenxiao shop connect --shop" in html
    expires = datetime(2026, 12, 1, 8, tzinfo=UTC)
    with database.transaction() as session:
        row = connections.configure(
            session, session.get(Shop, youzan.id), client_id="yz-app-1", shop_ref="98523"
        )
        store = connections.DbTokenStore(session, row, Vault("k"))
        store.save(Token("secret-token", expires))
    html = admin.get(SETTINGS).get_data(as_text=True)
    assert 'id="install-state">connected<' in html and "yz-app-1" in html and "98523" in html
    assert 'id="token-expiry">' in html and "2026" in html.split('id="token-expiry">')[1][:60]
    assert "secret-token" not in html


def test_the_settings_page_lists_the_latest_deliveries_with_their_outcome(admin, shop, database, broken):
    event_id = dead_delivery(database, shop)
    html = admin.get(SETTINGS).get_data(as_text=True)
    recent = html.split('id="recent-deliveries"')[1].split("</table>")[0]
    assert f"<td>{event_id}</td>" in recent and "dead" in recent and "database on fire" in recent


def test_the_platform_section_is_translated(as_role, make_shop):
    weimob = make_shop(name="Weimob shop", platform="weimob")
    admin = as_role("admin", shop_id=weimob.id)
    html = admin.get(SETTINGS, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "平台连接" in html and "微盟开放平台" in html and "未配置" in html
