"""The inbox: every webhook delivery is stored raw exactly once, then processed by a job.

Intake (``store``) runs in the web request and makes the event due at once. Workers ``drain``
the inbox: each claims a batch of due events (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
workers take different ones) and applies them in one transaction. If the worker dies, nothing of
the batch was committed and its events are due again; if applying the batch fails, its events are
applied one per transaction (``process``) so the failing one records its own error. A failed event
is retried with backoff; after ``MAX_ATTEMPTS`` it is parked as dead for a manual replay.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from adapters import base, schema
from adapters.errors import PayloadError, PlatformRefused, PlatformUnavailable
from adapters.registry import get_adapter
from plugin.db import Database, insert_new_returning, utcnow
from plugin.inbox import fetching
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.orders import batch, lifecycle
from plugin.platforms.connections import ApiFactory, NotConnected
from plugin.shops.models import Shop
from plugin.states import StateMachine

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# Events per drain transaction. PostgreSQL: ~0.3 s of work, short enough to hold its locks.
# SQLite has one writer: intake's INSERT waits for the batch, so its batches are small.
BATCH = {"postgresql": 100, "sqlite": 10}
S = InboxStatus
TRANSITIONS: dict[InboxStatus, tuple[InboxStatus, ...]] = {
    S.RECEIVED: (S.PROCESSED, S.IGNORED, S.FAILED, S.DEAD),
    S.FAILED: (S.PROCESSED, S.IGNORED, S.FAILED, S.DEAD, S.RECEIVED),  # received: replayed by hand
    S.DEAD: (S.RECEIVED,),  # replayed by hand
    S.PROCESSED: (),
    S.IGNORED: (),
}
MACHINE = StateMachine("inbox event", TRANSITIONS)
# A platform API that did not answer, refused, or is not connected: retried with backoff.
FETCH_ERRORS = (PlatformUnavailable, PlatformRefused, NotConnected)
DONE = (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.DEAD)
PENDING = (InboxStatus.RECEIVED, InboxStatus.FAILED)


def store(
    session: Session,
    shop_id: int,
    platform: str,
    delivery: base.Delivery,
    headers: Mapping[str, str],
    body: bytes,
    *,
    ignore_reason: str | None = None,
) -> int | None:
    """Insert the raw delivery unless it was seen. Returns the new id, or None for a duplicate.

    Seen means the same delivery id, or the same signed body of the same topic re-posted
    under a new delivery id. An unknown topic, or an ``ignore_reason``, stores it as ignored.
    """
    now = utcnow()
    if delivery.kind == base.KIND_IGNORED and ignore_reason is None:
        ignore_reason = f"topic {delivery.topic} is not acted on"
    ignored = ignore_reason is not None
    row = dict(
        shop_id=shop_id,
        platform=platform,
        event_key=delivery.event_key,
        topic=delivery.topic,
        kind=delivery.kind,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        status=InboxStatus.IGNORED if ignored else InboxStatus.RECEIVED,
        reason=ignore_reason,
        received_at=now,
        next_attempt_at=now,  # due at once
        processed_at=now if ignored else None,
    )
    connection = session.connection()
    # either unique key refuses a repeat: the delivery id, or topic + body hash
    return connection.scalar(insert_new_returning(connection.dialect.name, InboxEvent.__table__.c.id), row)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(10 * 2**attempts, 3600))


def process(database: Database, event_id: int, apis: ApiFactory | None = None) -> str:
    """Normalize one stored delivery and apply it to the domain. Returns the event's status.

    A payload the adapter cannot read will never succeed, so it goes to ``dead`` at once; any
    other failure (a platform API that did not answer included) is retried with backoff
    (``_record_failure``). ``apis`` builds the platform clients of adapters that fetch.
    """
    started = time.perf_counter()
    topic = "?"
    try:
        fetched = fetching.fetch_one(database, apis, event_id)  # before the transaction opens
        with database.transaction() as session:
            event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
            if event is None:
                return "missing"
            if event.status in DONE:
                return event.status
            topic = event.topic
            _apply(session, event, apis, fetched)
            status = event.status
    except PayloadError as exc:
        status = _record_failure(database, event_id, exc, permanent=True)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        log.exception("inbox event %s failed", event_id)
        status = _record_failure(database, event_id, exc)
    log.info("event %s %s %s in %.1f ms", event_id, topic, status, (time.perf_counter() - started) * 1000)
    return status


def drain(database: Database, *, limit: int | None = None, apis: ApiFactory | None = None) -> int:
    """Claim up to ``limit`` due events and apply them in one transaction. Returns how many
    were claimed (0: nothing is due, or every due event is being applied by another worker)."""
    started, claimed, limit = time.perf_counter(), [], limit or BATCH[database.dialect]
    try:
        fetched = fetching.fetch_due(database, apis, limit)  # platform calls: before the transaction
        with database.transaction() as session:
            events = _claim(session, utcnow(), limit, fetched)
            claimed = [event.id for event in events]
            if events:
                _apply_batch(session, events, apis, fetched)
                outcome = Counter(str(event.status) for event in events)
    except Exception as exc:  # noqa: BLE001 - the events are applied one by one instead
        if not claimed:
            raise
        log.warning("a batch of %d events failed (%s); applying them one by one", len(claimed), exc)
        outcome = Counter(process(database, event_id, apis) for event_id in claimed)
    if claimed:
        took = (time.perf_counter() - started) * 1000
        summary = " ".join(f"{status}={n}" for status, n in sorted(outcome.items()))
        log.info("drained %d events (%s) in %.1f ms", len(claimed), summary, took)
    return len(claimed)


def _claim(
    session: Session, now: datetime, limit: int, fetched: fetching.Fetched | None = None
) -> list[InboxEvent]:
    """Due events in arrival order, locked; those another worker holds are skipped, and so are
    events of fetching platforms this drain did not fetch (the next drain fetches them)."""
    ready = or_(
        InboxEvent.platform.notin_(fetching.fetching_platforms()), InboxEvent.id.in_(list(fetched or ()))
    )
    return list(
        session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status.in_(PENDING), InboxEvent.next_attempt_at <= now, ready)
            .order_by(InboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def _apply_batch(
    session: Session, events: list[InboxEvent], apis: ApiFactory | None, fetched: fetching.Fetched
) -> None:
    """Normalize every event, let ``orders.batch`` load what they need, then apply them in order.

    An event whose platform API did not answer (or refused) is counted as failed and retried
    later on its own; the rest of the batch goes on."""
    ready: dict[Shop, list[tuple[InboxEvent, batch.Document]]] = defaultdict(list)
    for event in events:
        shop = session.get(Shop, event.shop_id)
        try:
            document = _document(session, event, shop, apis, fetched)
        except PayloadError as exc:
            _fail(event, exc, permanent=True)
            continue
        except FETCH_ERRORS as exc:
            log.warning("inbox event %s: %s", event.id, exc)
            _fail(event, exc)
            continue
        if _ignored(event, shop, document):
            continue
        ready[shop].append((event, document))
    for shop, group in ready.items():
        batch.prepare(session, shop, [document for _, document in group])
        for event, document in group:
            _apply_document(session, event, shop, document)


def _document(session: Session, event: InboxEvent, shop: Shop, apis, fetched: fetching.Fetched):
    """The event's document: fetched ahead (outside the transaction) or normalized now."""
    if event.id in fetched:
        return fetching.document_of(fetched, event.id)
    return _normalize(session, event, shop, apis)


def _normalize(
    session: Session, event: InboxEvent, shop: Shop, apis: ApiFactory | None
) -> batch.Document | None:
    """The event's document in the common schema; an adapter that fetches gets the shop's client."""
    adapter = get_adapter(event.platform)
    delivery = adapter.describe(event.headers, event.body)
    api = None
    if not adapter.normalize_at_intake and delivery.kind in fetching.ACTED_ON:
        if apis is None:
            raise NotConnected(f"no platform API client for {event.platform} in this process", "platform")
        api = apis(session, shop)
    return adapter.normalize(delivery, event.body, api)


def _ignored(event: InboxEvent, shop: Shop, document) -> bool:
    """Record the event as ignored if it must never touch the shop's orders (``ignore_reason``)."""
    reason = lifecycle.ignore_reason(shop, document)
    if document is not None and reason is None:
        return False
    _done(event, InboxStatus.IGNORED)
    event.reason = reason or f"topic {event.topic} is not acted on"
    return True


def _apply_document(session: Session, event: InboxEvent, shop: Shop, document) -> None:
    if isinstance(document, schema.Order):
        lifecycle.apply_snapshot(session, shop, document)
    elif isinstance(document, schema.StatusUpdate):
        lifecycle.apply_status(session, shop, document)
    else:
        lifecycle.apply_refund(session, shop, document)
    _done(event, InboxStatus.PROCESSED)


def _done(event: InboxEvent, status: InboxStatus) -> None:
    MACHINE.move(event, status)
    event.attempts += 1
    event.processed_at = utcnow()


def _apply(session: Session, event: InboxEvent, apis: ApiFactory | None, fetched: fetching.Fetched) -> None:
    shop = session.get(Shop, event.shop_id)
    document = _document(session, event, shop, apis, fetched)
    if not _ignored(event, shop, document):
        _apply_document(session, event, shop, document)


def _record_failure(database: Database, event_id: int, exc: Exception, *, permanent: bool = False) -> str:
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
        _fail(event, exc, permanent=permanent)
        return event.status


def _fail(event: InboxEvent, exc: Exception, *, permanent: bool = False) -> None:
    """Count a failed attempt with its error: retried after ``backoff``, or dead once it is
    ``permanent`` (a payload the adapter cannot read never succeeds) or out of attempts."""
    event.attempts += 1
    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    give_up = permanent or event.attempts >= MAX_ATTEMPTS
    MACHINE.move(event, InboxStatus.DEAD if give_up else InboxStatus.FAILED)
    event.next_attempt_at = utcnow() + backoff(event.attempts)


def replay(database: Database, event_id: int, apis: ApiFactory | None = None) -> str:
    """Put a dead or failed event back in line (operator action) and process it now."""
    with database.transaction() as session:
        event = session.get(InboxEvent, event_id)
        if event is None:
            return "missing"
        if MACHINE.allows(InboxStatus(event.status), InboxStatus.RECEIVED):
            MACHINE.move(event, InboxStatus.RECEIVED)
            event.attempts = 0
    return process(database, event_id, apis)
