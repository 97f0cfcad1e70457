"""A shop's recent webhook deliveries and their outcome, and an operator's replay of a dead one.

Listing reads keyset pages on ``(received_at, id)`` through ``ix_inbox_shop_received`` and never
loads the raw bodies. Replaying is ``mailbox.replay`` behind two checks it does not make itself:
the event belongs to the operator's shop, and it is dead (a failed event is retried by the sweep
on its own; a processed or ignored one has nothing left to do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.audit.search import Cursor
from plugin.db import Database
from plugin.errors import InvalidSetting, InvalidTransition, NotFound
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent, InboxStatus

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
OUTCOMES = tuple(InboxStatus)


@dataclass(frozen=True)
class Delivery:
    id: int
    topic: str
    received_at: datetime
    status: str
    reason: str | None
    last_error: str | None
    attempts: int
    processed_at: datetime | None


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_cursor: Cursor | None  # None: this is the last page


COLUMNS = (
    InboxEvent.id,
    InboxEvent.topic,
    InboxEvent.received_at,
    InboxEvent.status,
    InboxEvent.reason,
    InboxEvent.last_error,
    InboxEvent.attempts,
    InboxEvent.processed_at,
)


def recent(
    session: Session,
    shop_id: int,
    *,
    status: str | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> DeliveryPage:
    """The shop's deliveries, newest first, optionally only those with outcome ``status``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidSetting(f"a page holds 1 to {MAX_PAGE_SIZE} deliveries", "limit")
    query = select(*COLUMNS).where(InboxEvent.shop_id == shop_id)
    if status:
        if status not in OUTCOMES:
            raise InvalidSetting(f"outcome must be one of {', '.join(OUTCOMES)}", "status")
        query = query.where(InboxEvent.status == status)
    if before is not None:
        query = query.where(
            or_(
                InboxEvent.received_at < before.at,
                and_(InboxEvent.received_at == before.at, InboxEvent.id < before.id),
            )
        )
    query = query.order_by(InboxEvent.received_at.desc(), InboxEvent.id.desc()).limit(limit + 1)
    rows = [Delivery(*row) for row in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows, Cursor(rows[-1].received_at, rows[-1].id) if more else None)


def replay(database: Database, shop_id: int, event_id: int, *, actor: str, apis=None) -> str:
    """Replay one of the shop's dead deliveries now; returns its status afterwards.

    The request is audited (``inbox.replayed``) in its own transaction *before* the replay
    runs: ``mailbox.replay`` commits in transactions of its own, and an audit entry for a
    replay that then crashed is better than a replay the trail never heard of.

    Raises:
        NotFound: no such delivery in this shop.
        InvalidTransition: the delivery is not dead.
    """
    with database.transaction() as session:
        event = session.execute(
            select(InboxEvent.id, InboxEvent.topic, InboxEvent.status, InboxEvent.attempts).where(
                InboxEvent.id == event_id, InboxEvent.shop_id == shop_id
            )
        ).first()
        if event is None:
            raise NotFound(f"no delivery {event_id} in this shop", "event_id")
        if event.status != InboxStatus.DEAD:
            raise InvalidTransition(f"delivery {event_id} is {event.status}, not dead", "event_id")
        trail.record(
            session,
            shop_id,
            "inbox.replayed",
            "inbox_event",
            event_id,
            actor=actor,
            topic=event.topic,
            attempts=event.attempts,
        )
    return mailbox.replay(database, event_id, apis)
