"""What webhook intake needs of a shop — its platform, currency and signing secrets — kept in
each process, so acknowledging a delivery reads nothing from the database but its one INSERT.

A cached entry is used for ``TTL`` seconds. A secret's expiry is checked at each use, so an old
secret stops verifying the moment its grace window ends, in every process. A signature that no
cached secret verifies makes the entry load again once before the delivery is refused, so a new
secret (``tenants.rotate_secret``, from any process) verifies at once; rotating in this process
also forgets the entry (``forget``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from adapters.errors import SignatureError
from plugin.db import Database
from plugin.platforms.models import PlatformConnection
from plugin.shops import tenants


@dataclass(frozen=True)
class Credentials:
    shop_id: int
    platform: str
    currency: str
    secrets: tuple[tuple[str, datetime | None], ...]  # newest first, with their expiry
    loaded_at: float
    client_id: str | None = None  # the shop's app id on its platform (some signatures include it)

    def active_secrets(self, now: datetime) -> list[str]:
        return [secret for secret, expires in self.secrets if expires is None or expires > now]


class CredentialCache:
    TTL = 60.0

    def __init__(self, database: Database, ttl: float = TTL):
        self.database, self.ttl = database, ttl
        self._entries: dict[int, Credentials] = {}
        self._lock = threading.Lock()

    def get(self, shop_id: int, *, fresh: bool = False) -> Credentials:
        """The shop's credentials (``NotFound`` if there is no such shop)."""
        entry = self._entries.get(shop_id)
        if fresh or entry is None or time.monotonic() - entry.loaded_at > self.ttl:
            entry = self._load(shop_id)
            with self._lock:
                self._entries[shop_id] = entry
        return entry

    def forget(self, shop_id: int) -> None:
        with self._lock:
            self._entries.pop(shop_id, None)

    def _load(self, shop_id: int) -> Credentials:
        with self.database.read() as session:
            shop = tenants.get_shop(session, shop_id)
            secrets = tuple(tenants.secrets_of(session, shop_id))
            client_id = session.scalar(
                select(PlatformConnection.client_id).where(PlatformConnection.shop_id == shop_id)
            )
            return Credentials(shop.id, shop.platform, shop.currency, secrets, time.monotonic(), client_id)


REFRESH_AFTER = 1.0  # seconds: bad signatures reload a shop's secrets at most this often


def verified(
    cache: CredentialCache, shop_id: int, check: Callable[[list[str], str | None], None]
) -> Credentials:
    """The shop's credentials once ``check(secrets, client_id)`` accepts one of its active secrets.

    A ``SignatureError`` from the cached secrets is retried with freshly loaded ones (a rotation
    in another process) if the entry is older than ``REFRESH_AFTER``, so a flood of bad
    signatures costs the database at most one read per shop per second.
    """
    entry = cache.get(shop_id)
    try:
        check(entry.active_secrets(tenants.utcnow()), entry.client_id)
    except SignatureError:
        if time.monotonic() - entry.loaded_at < REFRESH_AFTER:
            raise
        entry = cache.get(shop_id, fresh=True)
        check(entry.active_secrets(tenants.utcnow()), entry.client_id)
    return entry
