"""Fetch-on-notify outside any transaction: the platform calls of adapters whose messages carry
no amounts (Weimob) happen before the worker opens its write transaction.

A platform API can be slow or down; a transaction held open across its calls would hold the
inbox rows' locks (PostgreSQL) or the one write lock (SQLite, where the acknowledgements'
INSERTs would queue behind it). So ``fetch_due`` reads the due events of fetching platforms
with a plain read, calls the platform for each, and hands back each event's document (or the
error the fetch raised); ``mailbox`` then claims and applies them like any other event. Tokens
are read and renewed in short transactions of their own (``connections.DatabaseTokenStore``).

Calls run CONCURRENCY at a time, so a slow API costs its latency about once per batch.
Two workers may fetch the same due event (the read takes no lock); only one claims it, the other
skips it: a wasted read of the platform, never a double application.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from adapters import base
from adapters.errors import PlatformRefused
from adapters.registry import PLATFORMS, get_adapter
from plugin.db import Database, utcnow
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.platforms import connections
from plugin.platforms.connections import ApiFactory, NotConnected

PENDING = (InboxStatus.RECEIVED, InboxStatus.FAILED)
ACTED_ON = (base.KIND_ORDER, base.KIND_REFUND, base.KIND_STATUS)
COLUMNS = (InboxEvent.id, InboxEvent.shop_id, InboxEvent.platform, InboxEvent.headers, InboxEvent.body)
Fetched = dict[int, object]
# Platform calls in flight at once per drain: a slow API costs its latency once per batch,
# not once per event. (Each drain's batch is at most 100 events.)
CONCURRENCY = 8
_CLIENTS_LOCK = threading.Lock()  # event id -> its document (None: nothing to apply) or an exception


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
    """Each row's document, ``CONCURRENCY`` platform calls at a time (one client per shop)."""
    rows = list(rows)
    clients: dict[int, object] = {}
    if len(rows) < 2:
        return {row.id: _fetch_one(database, apis, row, clients) for row in rows}
    futures = {row.id: _pool().submit(_fetch_one, database, apis, row, clients) for row in rows}
    return {event_id: future.result() for event_id, future in futures.items()}


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The process's fetch threads, started on first use and kept (a drain runs every few ms)."""
    return ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="fenxiao-fetch")


def _fetch_one(database: Database, apis: ApiFactory | None, row, clients: dict[int, object]):
    """The row's document, or the exception its fetch raised (never raises)."""
    adapter = get_adapter(row.platform)
    try:
        delivery = adapter.describe(row.headers, row.body)
        client = None
        if delivery.kind in ACTED_ON:
            if apis is None:
                raise NotConnected(f"no platform API client for {row.platform} in this process", "platform")
            with _CLIENTS_LOCK:
                if row.shop_id not in clients:
                    clients[row.shop_id] = apis.for_shop(database, row.shop_id)
                client = clients[row.shop_id]
        return adapter.normalize(delivery, row.body, client)
    except PlatformRefused as exc:
        if exc.field == "token":  # the platform refused the app's token: the shop must reconnect
            with database.transaction() as session:
                connections.refused(session, connections.get(session, row.shop_id), exc.message)
        return exc
    except Exception as exc:  # noqa: BLE001 - the mailbox records it on the event (PayloadError: dead)
        return exc


def document_of(fetched: Fetched, event_id: int):
    """The fetched document of ``event_id``; re-raises what its fetch raised."""
    result = fetched[event_id]
    if isinstance(result, Exception):
        raise result
    return result
