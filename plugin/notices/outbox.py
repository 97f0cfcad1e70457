"""Notices to distributors: written in the transaction that changed what they tell about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin import db
from plugin.notices.models import Notice


def notify(
    session: Session, shop_id: int, member_id: int, kind: str, subject_type: str, subject_id, message: str
) -> None:
    session.add(
        Notice(
            shop_id=shop_id,
            member_id=member_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=str(subject_id),
            message=message[:500],
            created_at=db.utcnow(),
        )
    )


def notices_of(session: Session, shop_id: int, member_id: int, *, unread_only: bool = False, limit: int = 50):
    query = (
        select(Notice)
        .where(Notice.shop_id == shop_id, Notice.member_id == member_id)
        .order_by(Notice.id.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return list(session.scalars(query))


def mark_read(
    session: Session, shop_id: int, member_id: int, up_to_id: int, now: datetime | None = None
) -> int:
    """Mark the member's notices up to ``up_to_id`` read; returns how many changed."""
    result = session.execute(
        update(Notice)
        .where(
            Notice.shop_id == shop_id,
            Notice.member_id == member_id,
            Notice.id <= up_to_id,
            Notice.read_at.is_(None),
        )
        .values(read_at=now or db.utcnow())
    )
    return result.rowcount
