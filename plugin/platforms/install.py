"""Installing the Shopify app on a shop: the OAuth authorization code grant, then the webhooks.

``start`` makes a one-time ``state`` nonce (only its sha256 is stored, with a 10-minute expiry),
moves the connection to ``pending`` and returns Shopify's authorize URL. ``finish`` takes the
redirect back: the ``hmac`` must be signed by one of the shop's active secrets, ``shop`` must be
the configured ``*.myshopify.com`` domain, and ``state`` must be the stored, unexpired nonce; the
nonce is spent before anything is asked of Shopify, so a callback works once. Then the code is
exchanged for the offline token and the webhook subscriptions (``WEBHOOK_TOPICS``) are pointed at
the shop's intake; only when both succeeded is the token stored (encrypted, ``DbTokenStore``) and
the connection ``connected``. A platform failure leaves no half state: the connection stays
``pending`` with ``last_error`` and no token, and the install is simply run again (Shopify gives
the same offline token again, and ``register_webhooks`` finishes what it started).

``finish`` takes the ``Database``, not a session: Shopify is called between two short
transactions, so no write lock is held while the platform answers (on SQLite the webhook intake
would queue behind it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_tokens
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from adapters.base import AppCredentials, Token
from adapters.clients import shopify
from adapters.errors import PlatformRefused, PlatformUnavailable, SignatureError
from adapters.http import HttpClient
from plugin.audit import trail
from plugin.db import Database, utcnow
from plugin.errors import FenxiaoError
from plugin.platforms import connections
from plugin.platforms.models import ConnectionStatus, PlatformConnection
from plugin.platforms.vault import Vault
from plugin.shops import tenants
from plugin.shops.models import Shop

STATE_TTL = timedelta(minutes=10)
DEFAULT_SCOPES = ("read_orders",)
WEBHOOK_TOPICS = ("orders/paid", "orders/fulfilled", "orders/cancelled", "orders/updated", "refunds/create")


class InstallNotConfigured(FenxiaoError):
    """The shop is not on Shopify, or its app id or ``*.myshopify.com`` domain is not recorded."""

    code = "install_not_configured"
    status = 409


class CallbackRefused(FenxiaoError):
    """The redirect from Shopify lacks a parameter it must carry (``field`` names it)."""

    code = "bad_callback"
    status = 400


class CallbackSignatureRefused(CallbackRefused):
    """The redirect's ``hmac`` is missing or signed by none of the shop's secrets."""

    code = "bad_callback_signature"
    status = 401


class ShopMismatch(CallbackRefused):
    """The redirect names another shop than the one this install is for."""

    code = "shop_mismatch"
    status = 403


class InvalidState(CallbackRefused):
    """No install awaits this ``state``: it is wrong, already used, or none was started."""

    code = "invalid_state"
    status = 403


class StateExpired(InvalidState):
    """The ``state`` is right but older than ``STATE_TTL``: start the install again."""

    code = "state_expired"


class InstallFailed(FenxiaoError):
    """Shopify refused or did not answer the token exchange or the webhook registration; the
    connection stays pending with ``last_error``, and the install can be run again."""

    code = "install_failed"
    status = 502


@dataclass(frozen=True)
class Installed:
    """A finished install: the shop's domain, the granted scopes and what the webhooks needed."""

    shop_id: int
    shop_domain: str
    scopes: str | None
    webhooks: shopify.Registration = field(default_factory=shopify.Registration)

    def to_dict(self) -> dict:
        return {
            "status": ConnectionStatus.CONNECTED.value,
            "shop_id": self.shop_id,
            "shop": self.shop_domain,
            "scopes": self.scopes,
            "webhooks": self.webhooks.as_dict(),
        }


def start(
    session: Session,
    shop: Shop,
    *,
    redirect_uri: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    actor: str = trail.SYSTEM,
) -> str:
    """Begin an install: store a fresh ``state`` and return the authorize URL to redirect to.

    A connected shop stays connected (and keeps its token) until a new install finishes: the
    start link needs no login (Shopify's own install link opens it), so opening it must not
    disconnect anything; it only replaces the pending ``state``.

    Raises:
        InstallNotConfigured: see ``_configured``.
    """
    row = _configured(session, shop)
    nonce = random_tokens.token_urlsafe(32)
    row.oauth_state, row.oauth_state_expires_at = _digest(nonce), utcnow() + STATE_TTL
    if row.status != ConnectionStatus.CONNECTED:
        connections.move(session, row, ConnectionStatus.PENDING, actor=actor)
    trail.record(
        session,
        shop.id,
        "platform.install_started",
        "shop",
        shop.id,
        actor=actor,
        shop_domain=row.shop_ref,
        scopes=",".join(scopes),
        redirect_uri=redirect_uri,
    )
    credentials = connections.app_credentials(session, shop, row)
    return shopify.authorize_url(credentials, row.shop_ref, scopes, redirect_uri, nonce)


def verify_request(session: Session, shop: Shop, query: Mapping[str, str | Sequence[str]]) -> str:
    """Check a request Shopify signed (the install link, the redirect back): its ``hmac`` and
    that its ``shop`` is the configured domain. Returns that domain.

    Raises:
        InstallNotConfigured, CallbackSignatureRefused, ShopMismatch.
    """
    row = _configured(session, shop)
    now = utcnow()
    active = [
        secret for secret, expires in tenants.secrets_of(session, shop.id) if expires is None or expires > now
    ]
    try:
        shopify.verify_callback(query, active)
    except SignatureError as err:
        raise CallbackSignatureRefused(err.message, err.field) from None
    named = _param(query, "shop")
    if named is None or named.lower() != row.shop_ref.lower():
        raise ShopMismatch(f"the request is for {named!r}, this install is for {row.shop_ref}", "shop")
    return row.shop_ref


def finish(
    database: Database,
    shop_id: int,
    query: Mapping[str, str | Sequence[str]],
    *,
    vault: Vault,
    webhook_address: str,
    actor: str = trail.SYSTEM,
    http: HttpClient | None = None,
) -> Installed:
    """Complete an install from Shopify's redirect back (``query`` as received).

    Raises:
        NotFound: no such shop.
        InstallNotConfigured, CallbackRefused, CallbackSignatureRefused, ShopMismatch,
            InvalidState, StateExpired: the redirect is refused; nothing is written.
        InstallFailed: Shopify refused or did not answer; the connection records the error and
            stays pending (this is raised after that is committed).
    """
    with database.transaction() as session:
        credentials, code = _accept_callback(session, tenants.get_shop(session, shop_id), query)
    held = _HeldToken()
    client = shopify.ShopifyClient(credentials, held, http)
    token = registration = failure = None
    try:
        token = client.exchange_code(code)
        registration = client.register_webhooks(webhook_address, WEBHOOK_TOPICS)
    except (PlatformRefused, PlatformUnavailable) as exc:
        failure = exc
    error = None
    if failure is not None:
        stage = "webhook registration" if token is not None else "token exchange"
        error = f"install failed at the {stage}: {failure.message}"[:500]
    with database.transaction() as session:
        row = session.get(PlatformConnection, shop_id, with_for_update=True)
        if error is not None:
            row.last_error = error
            trail.record(
                session, shop_id, "platform.install_failed", "shop", shop_id, actor=actor, error=error
            )
        else:
            _connect(session, row, token, registration, vault, webhook_address, actor)
    if error is not None:
        raise InstallFailed(error, "platform") from failure
    return Installed(shop_id, credentials.shop_ref, token.scopes, registration)


class _HeldToken:
    """Keeps the exchanged token in memory until the install has succeeded as a whole."""

    def __init__(self):
        self.token: Token | None = None

    def load(self) -> Token | None:
        return self.token

    def save(self, token: Token) -> None:
        self.token = token


def _accept_callback(
    session: Session, shop: Shop, query: Mapping[str, str | Sequence[str]]
) -> tuple[AppCredentials, str]:
    """Verify the redirect and spend its ``state``; returns the credentials and the code."""
    verify_request(session, shop, query)
    row = session.get(PlatformConnection, shop.id, with_for_update=True)
    given = _param(query, "state")
    if given is None:
        raise InvalidState("the redirect carries no state", "state")
    if row.oauth_state is None or not hmac.compare_digest(_digest(given), row.oauth_state):
        raise InvalidState("no install awaits this state (wrong, already used, or never started)", "state")
    if row.oauth_state_expires_at is None or row.oauth_state_expires_at <= utcnow():
        raise StateExpired(f"the install was started over {STATE_TTL} ago: start it again", "state")
    code = _param(query, "code")
    if not code:
        raise CallbackRefused("the redirect carries no authorization code", "code")
    row.oauth_state = row.oauth_state_expires_at = None  # spent: the redirect works once
    return connections.app_credentials(session, shop, row), code


def _connect(
    session: Session,
    row: PlatformConnection,
    token: Token,
    registration: shopify.Registration,
    vault: Vault,
    webhook_address: str,
    actor: str,
) -> None:
    connections.move(session, row, ConnectionStatus.CONNECTED, actor=actor, scopes=token.scopes)
    connections.DbTokenStore(session, row, vault).save(token)
    trail.record(
        session,
        row.shop_id,
        "platform.webhooks_registered",
        "shop",
        row.shop_id,
        actor=actor,
        address=webhook_address,
        **registration.as_dict(),
    )


def _configured(session: Session, shop: Shop) -> PlatformConnection:
    """The shop's connection, locked, if it can be installed.

    Raises:
        InstallNotConfigured: the shop is not on Shopify, or has no app id or valid domain.
    """
    if shop.platform != "shopify":
        raise InstallNotConfigured(f"shop {shop.id} is on {shop.platform}, not shopify", "platform")
    row = session.get(PlatformConnection, shop.id, with_for_update=True)
    if row is None or not row.client_id:
        raise InstallNotConfigured(
            f"shop {shop.id} has no Shopify app id configured "
            f"(fenxiao shop connect --shop {shop.id} --client-id ... --shop-ref ....myshopify.com)",
            "client_id",
        )
    if not shopify.valid_shop_domain(row.shop_ref):
        raise InstallNotConfigured(
            f"shop {shop.id}'s Shopify domain {row.shop_ref!r} is not a *.myshopify.com host", "shop_ref"
        )
    return row


def _param(query: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    """One query parameter's value (a repeated parameter has none: Shopify never repeats one)."""
    value = query.get(name)
    if value is None or isinstance(value, str):
        return value
    return value[0] if len(value) == 1 and isinstance(value[0], str) else None


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()
