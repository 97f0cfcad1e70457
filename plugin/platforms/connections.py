"""A shop's connection to its platform's API: the app id, the shop's id there, and the token.

The install state is a transition table (``TRANSITIONS``) moved by ``MACHINE``: ``new`` (app id
known) → ``pending`` (an OAuth install awaits its callback) → ``connected`` (a token works) →
``disconnected`` (the platform refused the token or its renewal) → connected again. Tokens are
written by the platform clients through ``DbTokenStore`` in the caller's transaction, encrypted
with the ``Vault``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from adapters.base import AppCredentials, Token
from adapters.registry import get_adapter
from plugin.audit import trail
from plugin.config import Config, secret_key
from plugin.db import Database, utcnow
from plugin.errors import FenxiaoError
from plugin.platforms.models import ConnectionStatus, PlatformConnection
from plugin.platforms.vault import Vault
from plugin.shops import tenants
from plugin.shops.models import Shop
from plugin.states import StateMachine

S = ConnectionStatus
TRANSITIONS: dict[ConnectionStatus, tuple[ConnectionStatus, ...]] = {
    S.NEW: (S.PENDING, S.CONNECTED, S.DISCONNECTED),  # disconnected: the app's id or secret is refused
    S.PENDING: (S.PENDING, S.CONNECTED, S.NEW),
    S.CONNECTED: (S.DISCONNECTED, S.PENDING),
    S.DISCONNECTED: (S.PENDING, S.CONNECTED),
}
MACHINE = StateMachine("platform connection", TRANSITIONS)


class NotConnected(FenxiaoError):
    """The shop has no usable connection to its platform's API (HTTP 409)."""

    code = "not_connected"
    status = 409


def get(session: Session, shop_id: int) -> PlatformConnection | None:
    return session.get(PlatformConnection, shop_id)


def configure(
    session: Session,
    shop: Shop,
    *,
    client_id: str | None,
    shop_ref: str | None = None,
    api_base: str | None = None,
    actor: str = trail.SYSTEM,
) -> PlatformConnection:
    """Record (or change) the shop's app id, its id on the platform and an API address override."""
    row = get(session, shop.id)
    if row is None:
        row = PlatformConnection(shop_id=shop.id, platform=shop.platform, status=S.NEW)
        session.add(row)
    before = {"client_id": row.client_id, "shop_ref": row.shop_ref, "api_base": row.api_base}
    row.client_id, row.shop_ref, row.api_base = client_id, shop_ref, api_base
    session.flush()
    trail.record(
        session,
        shop.id,
        "platform.configured",
        "shop",
        shop.id,
        actor=actor,
        before=before,
        after={"client_id": client_id, "shop_ref": shop_ref, "api_base": api_base},
    )
    return row


def move(
    session: Session,
    row: PlatformConnection,
    target: ConnectionStatus,
    *,
    actor: str = trail.SYSTEM,
    **detail,
):
    """Move the install state along ``TRANSITIONS`` (audited); staying where it is is a no-op."""
    if row.status == target:
        return
    before = MACHINE.move(row, target)
    if target == S.CONNECTED:
        row.connected_at = utcnow()
    trail.record(
        session,
        row.shop_id,
        f"platform.{target}",
        "shop",
        row.shop_id,
        actor=actor,
        previous=before,
        **detail,
    )


def app_credentials(session: Session, shop: Shop, row: PlatformConnection) -> AppCredentials:
    """The app id and secret (the shop's newest active webhook secret) for its API client."""
    now = utcnow()
    secrets = [
        secret for secret, expires in tenants.secrets_of(session, shop.id) if expires is None or expires > now
    ]
    return AppCredentials(
        platform=shop.platform,
        client_id=row.client_id or "",
        client_secret=secrets[0] if secrets else "",
        shop_ref=row.shop_ref,
        api_base=row.api_base,
    )


class DbTokenStore:
    """The ``TokenStore`` a client uses: the connection row, in the caller's session."""

    def __init__(self, session: Session, row: PlatformConnection, vault: Vault):
        self.session, self.row, self.vault = session, row, vault

    def load(self) -> Token | None:
        access = self.vault.open(self.row.access_token)
        if access is None:
            return None
        return Token(
            access_token=access,
            expires_at=self.row.token_expires_at,
            refresh_token=self.vault.open(self.row.refresh_token),
            refresh_expires_at=self.row.refresh_expires_at,
            scopes=self.row.scopes,
        )

    def save(self, token: Token) -> None:
        row = self.row
        row.access_token = self.vault.seal(token.access_token)
        row.refresh_token = self.vault.seal(token.refresh_token)
        row.token_expires_at, row.refresh_expires_at = token.expires_at, token.refresh_expires_at
        row.scopes, row.last_error = token.scopes, None
        move(self.session, row, S.CONNECTED)


class DatabaseTokenStore:
    """The ``TokenStore`` of a client used outside any transaction (the worker's fetch-ahead):
    each load and save is a short transaction of its own, so no lock outlives a platform call.
    It lives for one drain: the token read first is kept for its other calls."""

    def __init__(self, database: Database, shop_id: int, vault: Vault):
        self.database, self.shop_id, self.vault = database, shop_id, vault
        self._token: Token | None = None

    def load(self) -> Token | None:
        if self._token is None:
            with self.database.read() as session:
                row = session.get(PlatformConnection, self.shop_id)
                self._token = DbTokenStore(session, row, self.vault).load()
        return self._token

    def save(self, token: Token) -> None:
        with self.database.transaction() as session:
            DbTokenStore(session, session.get(PlatformConnection, self.shop_id), self.vault).save(token)
        self._token = token


def refused(session: Session, row: PlatformConnection, error: str) -> None:
    """The platform refused the token or its renewal: the shop must connect again."""
    row.last_error = error[:500]
    if MACHINE.allows(ConnectionStatus(row.status), S.DISCONNECTED):
        move(session, row, S.DISCONNECTED, error=error[:200])


class ApiFactory:
    """Builds a shop's platform API client (``adapter.api_client``) for one transaction."""

    def __init__(self, vault: Vault):
        self.vault = vault

    def __call__(self, session: Session, shop: Shop):
        """The client for work inside ``session``'s transaction (its token saved with it)."""
        row = _configured(session, shop)
        adapter = get_adapter(shop.platform)
        return adapter.api_client(app_credentials(session, shop, row), DbTokenStore(session, row, self.vault))

    def for_shop(self, database: Database, shop_id: int):
        """The client for calls made outside any transaction (tokens kept in short ones)."""
        with database.read() as session:
            shop = tenants.get_shop(session, shop_id)
            credentials = app_credentials(session, shop, _configured(session, shop))
        store = DatabaseTokenStore(database, shop_id, self.vault)
        return get_adapter(shop.platform).api_client(credentials, store)


def _configured(session: Session, shop: Shop) -> PlatformConnection:
    row = get(session, shop.id)
    if row is None or not row.client_id:
        raise NotConnected(
            f"shop {shop.id} has no {shop.platform} app configured "
            f"(fenxiao shop connect --shop {shop.id} --client-id ...)",
            "platform",
        )
    return row


def api_factory(config: Config) -> ApiFactory:
    """The platform clients of one runtime (its tokens sealed under the app's secret key)."""
    return ApiFactory(Vault(secret_key(config)))


@dataclass(frozen=True)
class InstallState:
    """What the workbench shows of a shop's connection (never a token)."""

    platform: str
    status: str
    client_id: str | None
    shop_ref: str | None
    token_expires_at: datetime | None
    connected_at: datetime | None
    last_error: str | None


def install_state(session: Session, shop: Shop) -> InstallState:
    row = get(session, shop.id)
    if row is None:
        return InstallState(shop.platform, "not_configured", None, None, None, None, None)
    return InstallState(
        row.platform,
        row.status,
        row.client_id,
        row.shop_ref,
        row.token_expires_at,
        row.connected_at,
        row.last_error,
    )
