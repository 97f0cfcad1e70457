"""Platform connections: app ids, install state through its table, tokens sealed at rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from adapters.base import Token
from plugin.audit.models import AuditEvent
from plugin.errors import InvalidTransition
from plugin.platforms import connections
from plugin.platforms.models import PlatformConnection
from plugin.platforms.vault import Vault
from plugin.shops.credentials import CredentialCache
from plugin.shops.models import Shop

EXPIRES = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_the_vault_seals_and_opens_and_refuses_another_key():
    vault = Vault("key one")
    sealed = vault.seal("access-123")
    assert sealed != "access-123" and "access-123" not in sealed
    assert vault.open(sealed) == "access-123"
    assert Vault("key two").open(sealed) is None
    assert vault.seal(None) is None and vault.open(None) is None


def test_configure_is_audited_and_feeds_the_intake_cache(make_shop, database):
    handle = make_shop(platform="youzan")
    with database.transaction() as session:
        connections.configure(session, session.get(Shop, handle.id), client_id="app-1", shop_ref="98523")
    with database.transaction() as session:
        row = connections.get(session, handle.id)
        assert (row.platform, row.status, row.client_id, row.shop_ref) == ("youzan", "new", "app-1", "98523")
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "platform.configured"))
        assert audit.data["after"]["client_id"] == "app-1"
    assert CredentialCache(database).get(handle.id).client_id == "app-1"


def test_tokens_are_stored_sealed_and_move_the_connection_to_connected(make_shop, database):
    handle = make_shop(platform="youzan")
    vault = Vault("k")
    with database.transaction() as session:
        shop = session.get(Shop, handle.id)
        row = connections.configure(session, shop, client_id="app-1", shop_ref="98523")
        store = connections.DbTokenStore(session, row, vault)
        assert store.load() is None
        store.save(Token("tok-abc", EXPIRES, "refresh-xyz", None, "trade"))
    with database.transaction() as session:
        row = session.get(PlatformConnection, handle.id)
        assert row.status == "connected" and row.connected_at is not None
        assert "tok-abc" not in row.access_token and "refresh-xyz" not in row.refresh_token
        token = connections.DbTokenStore(session, row, vault).load()
        assert token == Token("tok-abc", EXPIRES, "refresh-xyz", None, "trade")
        assert connections.DbTokenStore(session, row, Vault("other")).load() is None
        connections.refused(session, row, "40001 token revoked")
    with database.transaction() as session:
        row = session.get(PlatformConnection, handle.id)
        assert (row.status, row.last_error) == ("disconnected", "40001 token revoked")
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.shop_id == handle.id).order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["platform.connected", "platform.disconnected"]


def test_the_install_state_only_moves_along_its_table(make_shop, database):
    handle = make_shop(platform="youzan")
    with database.transaction() as session:
        row = connections.configure(session, session.get(Shop, handle.id), client_id="a")
        connections.move(session, row, connections.S.DISCONNECTED)
        with pytest.raises(InvalidTransition):
            connections.move(session, row, connections.S.NEW)


def test_a_shop_without_an_app_gets_no_client(make_shop, database):
    handle = make_shop(platform="youzan")
    with database.transaction() as session, pytest.raises(connections.NotConnected, match="client-id"):
        connections.ApiFactory(Vault("k"))(session, session.get(Shop, handle.id))


def test_the_app_secret_is_the_newest_active_webhook_secret(make_shop, database):
    handle = make_shop(platform="youzan", webhook_secret="s" * 32)
    with database.transaction() as session:
        shop = session.get(Shop, handle.id)
        row = connections.configure(
            session, shop, client_id="app-1", shop_ref="98523", api_base="http://fake"
        )
        creds = connections.app_credentials(session, shop, row)
    assert (creds.client_id, creds.client_secret, creds.shop_ref, creds.api_base) == (
        "app-1",
        "s" * 32,
        "98523",
        "http://fake",
    )
