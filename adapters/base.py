"""The contract every shop-platform adapter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .schema import Order, Refund, StatusUpdate

# What a delivery asks the domain to do.
KIND_ORDER = "order"
KIND_REFUND = "refund"
KIND_STATUS = "status"  # a status-only message (no lines, no amounts): ``StatusUpdate``
KIND_IGNORED = "ignored"  # a topic we record but do not act on
KIND_HEARTBEAT = "heartbeat"  # a platform's test message: acknowledge, store nothing


@dataclass(frozen=True)
class Delivery:
    """What the envelope of one webhook delivery says, before normalization."""

    event_key: str  # the platform's unique id of this message: the dedupe key
    topic: str
    kind: str
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class AppCredentials:
    """What an outbound platform client needs to call the platform for one shop.

    ``shop_ref`` is the platform's id of the shop (Youzan ``kdt_id``, Weimob ``bosId``, a
    Shopify ``*.myshopify.com`` domain); ``api_base`` overrides the platform's API address (a
    local fake in benchmarks and tests, a sandbox).
    """

    platform: str
    client_id: str
    client_secret: str
    shop_ref: str | None = None
    api_base: str | None = None


@dataclass(frozen=True)
class Token:
    """An access token a platform issued, with what renews it."""

    access_token: str
    expires_at: datetime | None = None  # None: does not expire
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    scopes: str | None = None


class TokenStore(Protocol):
    """Where a client keeps the shop's token between calls (the domain persists it, encrypted)."""

    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None: ...


class PlatformAdapter(Protocol):
    """Verifies and normalizes one platform's webhooks.

    An implementation may parse, verify and translate; it never touches the database, the
    ledger or the job queue, and it converts every amount to integer minor units. An adapter
    whose messages carry no amounts (``normalize_at_intake`` False) fetches them in
    ``normalize`` through ``api``, the client ``api_client`` built for the shop; a failed fetch
    raises (never a half-filled document) and the worker retries the event later.
    """

    identifier: str
    #: Whether ``normalize`` is pure and cheap (no outbound call), so intake can run it to
    #: reject a malformed payload with a 4xx before storing it.
    normalize_at_intake: bool

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], client_id: str | None = None
    ) -> None:
        """Raise ``SignatureError`` unless ``body`` is signed by one of ``secrets``.

        ``client_id`` is the shop's app id on the platform, for signatures that include it.
        """

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read the envelope: dedupe key, topic, kind. Raise ``PayloadError`` if malformed."""

    def normalize(
        self, delivery: Delivery, body: bytes, api: Any = None
    ) -> Order | Refund | StatusUpdate | None:
        """Translate the payload into the common schema (``None`` for ignored kinds)."""

    def acknowledgement(self) -> dict:
        """The JSON body the platform expects in a successful reply."""

    def api_client(self, credentials: AppCredentials, tokens: TokenStore) -> Any:
        """The platform's API client for one shop (``None`` if the adapter needs none)."""
