"""Fetch-on-notify outside any transaction: the platform calls of adapters whose messages carry
no amounts (Weimob) happen before the worker opens its write transaction.

A platform API can be slow or down; a transaction held open across its calls would hold the
inbox rows' locks (PostgreSQL) or the one write lock (SQLite, where the acknowledgements'
INSERTs would queue behind it). So ``fetch_due`` reads the due events of fetching platforms
with a plain read, calls the platform for each, and hands back each event's document (or the
error the fetch raised); ``mailbox`` then claims and applies them like any other event. Tokens
are read and renewed in short transactions of their own (``connections.DatabaseTokenStore``).

Two workers may fetch the same due event (the read takes no lock); only one claims it, the other
skips it: a wasted read of the platform, never a double application.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import select

from adapters import base
from adapters.registry import PLATFORMS, get_adapter
from plugin.db import Database, utcnow
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.platforms.connections import ApiFactory, NotConnected

PENDING = (InboxStatus.RECEIVED, InboxStatus.FAILED)
ACTED_ON = (base.KIND_ORDER, base.KIND_REFUND, base.KIND_STATUS)
COLUMNS = (InboxEvent.id, InboxEvent.shop_id, InboxEvent.platform, InboxEvent.headers, InboxEvent.body)
Fetched = dict[int, object]  # event id -> its document (None: nothing to apply) or an exception


@functools.cache
def fetching_platforms() -> tuple[str, ...]:
    """The platforms whose adapters fetch while normalizing (``normalize_at_intake`` False)."""
    return tuple(sorted(name for name in PLATFORMS if not get_adapter(name).normalize_at_intake))


def fetch_due(database: Database, apis: ApiFactory | None, limit: int) -> Fetched:
    """Fetch the documents of up to ``limit`` due events of fetching platforms, oldest first."""
    platforms = fetching_platforms()
    if not platforms:
        return {}
    with database.read() as session:
        rows = session.execute(
            select(
                InboxEvent.id, InboxEvent.shop_id, InboxEvent.platform, InboxEvent.headers, InboxEvent.body
            )
            .where(
                InboxEvent.status.in_(PENDING),
                InboxEvent.next_attempt_at <= utcnow(),
                InboxEvent.platform.in_(platforms),
            )
            .order_by(InboxEvent.id)
            .limit(limit)
        ).all()
    return _fetch(database, apis, rows)


def fetch_one(database: Database, apis: ApiFactory | None, event_id: int) -> Fetched:
    """The document of one event, fetched if its platform fetches ({} otherwise)."""
    platforms = fetching_platforms()
    with database.read() as session:
        rows = session.execute(
            select(
                InboxEvent.id, InboxEvent.shop_id, InboxEvent.platform, InboxEvent.headers, InboxEvent.body
            ).where(InboxEvent.id == event_id, InboxEvent.platform.in_(platforms))
        ).all()
    return _fetch(database, apis, rows)


def _fetch(database: Database, apis: ApiFactory | None, rows: Iterable) -> Fetched:
    clients: dict[int, object] = {}
    fetched: Fetched = {}
    for row in rows:
        adapter = get_adapter(row.platform)
        try:
            delivery = adapter.describe(row.headers, row.body)
            client = None
            if delivery.kind in ACTED_ON:
                if apis is None:
                    raise NotConnected(
                        f"no platform API client for {row.platform} in this process", "platform"
                    )
                if row.shop_id not in clients:
                    clients[row.shop_id] = apis.for_shop(database, row.shop_id)
                client = clients[row.shop_id]
            fetched[row.id] = adapter.normalize(delivery, row.body, client)
        except Exception as exc:  # noqa: BLE001 - the mailbox records it on the event (PayloadError: dead)
            fetched[row.id] = exc
    return fetched


def document_of(fetched: Fetched, event_id: int):
    """The fetched document of ``event_id``; re-raises what its fetch raised."""
    result = fetched[event_id]
    if isinstance(result, Exception):
        raise result
    return result
