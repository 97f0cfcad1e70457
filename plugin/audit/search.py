"""Reading the audit trail: filtered, newest first, a page at a time (the workbench's audit log).

Pages are keyset pages on ``(created_at, id)``: the next page starts strictly after the last row
shown, so a page costs one range read of ``ix_audit_shop_created`` (or ``ix_audit_subject``
when an object is asked for) however deep the reader goes, and rows written meanwhile never
shift a page. Every filter is an exact match: an actor's name, an action, an object's type and
id; a date range is a half-open ``[since, until)`` in UTC (``local_days`` turns the shop's
calendar days into one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.errors import InvalidSetting

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The action filter offers the actions of this many newest events: a DISTINCT over a shop's
# whole trail (millions of rows with 1M orders) would read all of it on every page view.
ACTIONS_WINDOW = 20_000


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page ends: the last row's time and id. Text form ``<microseconds>-<id>``.

    (The deliveries page of the inbox pages the same way and uses this type too.)
    """

    at: datetime
    id: int

    def __str__(self) -> str:
        micros = (self.at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Raises ``InvalidSetting`` (field ``before``) for anything but a cursor this module wrote."""
        micros, _, ident = (text or "").partition("-")
        if not (micros.isdigit() and ident.isdigit()) or len(micros) > 18 or len(ident) > 19:
            raise InvalidSetting(f"not a page cursor: {text!r}", "before")
        return cls(EPOCH + timedelta(microseconds=int(micros)), int(ident))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: Cursor | None  # None: this is the last page


def search(
    session: Session,
    shop_id: int,
    *,
    actor: str | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """The shop's audit events matching every given filter, newest first.

    Args:
        actor, action, subject_type, subject_id: exact matches (None or "" filters nothing).
        since, until: aware datetimes, ``since <= created_at < until``.
        before: the cursor of the previous page's last row; None starts at the newest.
        limit: rows per page (1..200).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidSetting(f"a page holds 1 to {MAX_PAGE_SIZE} events", "limit")
    query = select(AuditEvent).where(AuditEvent.shop_id == shop_id)
    for column, value in (
        (AuditEvent.actor, actor),
        (AuditEvent.action, action),
        (AuditEvent.subject_type, subject_type),
        (AuditEvent.subject_id, subject_id),
    ):
        if value:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if before is not None:
        query = query.where(
            or_(
                AuditEvent.created_at < before.at,
                and_(AuditEvent.created_at == before.at, AuditEvent.id < before.id),
            )
        )
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = Cursor(rows[-1].created_at, rows[-1].id) if more else None
    return AuditPage(rows, cursor)


def actions_present(session: Session, shop_id: int, *, window: int = ACTIONS_WINDOW) -> list[str]:
    """The distinct actions among the shop's newest ``window`` events, sorted."""
    newest = (
        select(AuditEvent.action)
        .where(AuditEvent.shop_id == shop_id)
        .order_by(AuditEvent.created_at.desc())
        .limit(window)
        .subquery()
    )
    return sorted(session.scalars(select(newest.c.action).distinct()))


def local_days(
    timezone: str, first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` in UTC covering the calendar days ``first``..``last`` (inclusive) as
    they pass in ``timezone``; either end may be open (None).

    Raises:
        InvalidSetting: ``first`` is after ``last`` (field ``date_to``).
    """
    if first and last and first > last:
        raise InvalidSetting("the range ends before it starts", "date_to")
    zone = ZoneInfo(timezone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return (
        start_of(first) if first else None,
        start_of(last + timedelta(days=1)) if last else None,
    )
