"""Invite bindings: who invited whom, with each member's three ancestors precomputed.

First binding wins: a member's binding never changes here (an audited, approved unbind
is a later feature). Self-binding and cycles are refused.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audit
from .errors import BindingRefused
from .members import distributor_by_code, get_member, is_earning
from .models import Binding

SOURCES = ("invite_code", "link", "qr", "order_ref")


def binding_of(session: Session, member_id: int) -> Binding | None:
    return session.get(Binding, member_id)


def _would_cycle(session: Session, member_id: int, inviter_id: int) -> bool:
    """True if ``member_id`` is the inviter or one of the inviter's ancestors."""
    if inviter_id == member_id:
        return True
    # A member with nobody below them cannot be anyone's ancestor: the common case is one query.
    if not session.scalar(select(exists().where(Binding.tier1_id == member_id))):
        return False
    seen, current = set(), inviter_id
    while current is not None and current not in seen:
        if current == member_id:
            return True
        seen.add(current)
        upper = session.get(Binding, current)
        current = upper.tier1_id if upper else None
    return False


def bind(
    session: Session,
    shop_id: int,
    member_id: int,
    invite_code: str,
    *,
    source: str = "invite_code",
    source_ref: str = "",
    actor: str = audit.SYSTEM,
) -> Binding:
    """Bind ``member_id`` under the distributor owning ``invite_code``.

    Returns the existing binding unchanged if the member is already bound (first wins).

    Raises:
        BindingRefused: unknown or inactive code, self-binding, or a cycle.
    """
    if source not in SOURCES:
        raise BindingRefused(f"unknown binding source {source!r}", "source")
    get_member(session, shop_id, member_id)
    existing = binding_of(session, member_id)
    if existing is not None:
        return existing
    inviter = distributor_by_code(session, shop_id, invite_code)
    if inviter is None or is_earning(session, inviter.member_id) is None:
        raise BindingRefused(
            f"invite code {invite_code!r} does not belong to an active distributor", "invite_code"
        )
    if inviter.member_id == member_id:
        raise BindingRefused("a member cannot bind to their own invite code", "invite_code")
    if _would_cycle(session, member_id, inviter.member_id):
        raise BindingRefused("binding would create a cycle in the invite tree", "invite_code")
    upper = binding_of(session, inviter.member_id)
    binding = Binding(
        member_id=member_id,
        shop_id=shop_id,
        tier1_id=inviter.member_id,
        tier2_id=upper.tier1_id if upper else None,
        tier3_id=upper.tier2_id if upper else None,
        source=source,
        source_ref=source_ref,
    )
    try:
        with session.begin_nested():
            session.add(binding)
            session.flush()
    except IntegrityError:
        return binding_of(session, member_id)  # a concurrent first binding won
    audit.record(
        session,
        shop_id,
        "binding.created",
        "member",
        member_id,
        actor=actor,
        inviter_id=inviter.member_id,
        source=source,
        source_ref=source_ref,
        ancestors=[binding.tier1_id, binding.tier2_id, binding.tier3_id],
    )
    return binding
