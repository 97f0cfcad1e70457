"""Invite bindings: who invited whom, with each member's three ancestors precomputed.

First binding wins: a member's binding never changes here (an audited, approved unbind
is a later feature). Self-binding and cycles are refused, also when two bindings that would
close a cycle together (x under y, y under x) are made at the same moment:

* every bind locks the rows of the member and of the inviter (in id order), so nobody can be
  bound under the member while its bind is checked and committed;
* a member created by the same transaction (a new buyer, ``directory.members_for_identities``)
  is seen by no one else yet, so it is bound without any lock;
* a member with nobody under them is no one's ancestor, so binding them cannot close a cycle:
  that is the common case (a new buyer) and needs nothing more;
* otherwise the bind takes the shop's binding lock (a PostgreSQL advisory lock) and walks the
  inviter's chain under it, so two binds that could close a cycle run one after the other and
  the second sees the first. (A cycle needs every member on it to have someone under them, so
  only such binds can close one.)
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin import appends, db
from plugin.audit import trail
from plugin.db import advisory_lock
from plugin.errors import BindingRefused
from plugin.members.directory import distributor_by_code, get_member, is_earning
from plugin.members.models import Binding, Member

SOURCES = ("invite_code", "link", "qr", "order_ref")


def binding_of(session: Session, member_id: int, *, fresh: bool = False) -> Binding | None:
    """The member's binding; ``fresh`` reads it from the database, not the transaction's copy.

    Bindings read or made in this transaction are kept in its memo (``None`` for a member known
    to be unbound): the session's identity map holds rows only while someone refers to them.
    """
    known = db.memo(session, "bindings")
    if not fresh and member_id in known:
        return known[member_id]
    known[member_id] = session.get(Binding, member_id, populate_existing=fresh)
    return known[member_id]


def load_bindings(session: Session, member_ids) -> None:
    """Load the bindings of ``member_ids`` with one ``SELECT … IN`` (``None`` for who has none),
    so ``binding_of`` answers without a query."""
    known = db.memo(session, "bindings")
    members = sorted(set(member_ids) - known.keys())
    if not members:
        return
    found = {b.member_id: b for b in session.scalars(select(Binding).where(Binding.member_id.in_(members)))}
    known.update({member: found.get(member) for member in members})


def _lock_members(session: Session, *member_ids: int) -> None:
    # FOR NO KEY UPDATE: serializes binds on these members without blocking the foreign-key
    # checks (KEY SHARE) of rows that merely reference them, which would deadlock.
    rows = select(Member.id).where(Member.id.in_(sorted(member_ids))).order_by(Member.id)
    session.execute(rows.with_for_update(key_share=True))


def _would_cycle(session: Session, shop_id: int, member_id: int, inviter_id: int) -> bool:
    """True if ``member_id`` is one of the inviter's ancestors (rows locked: see above); ``bind``
    has refused a member's own code already."""
    # A member with nobody below them cannot be anyone's ancestor: the common case is one query.
    if not session.scalar(select(exists().where(Binding.tier1_id == member_id))):
        return False
    advisory_lock(session, "fenxiao.binding", shop_id)
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
    actor: str = trail.SYSTEM,
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
    made_here = member_id in db.memo(session, "new_members")
    if made_here:
        # Made by this transaction: nobody else sees the member yet, so nobody can bind it or
        # under it (no lock, no cycle). The inviter's ancestors are those of this moment.
        upper = binding_of(session, inviter.member_id)
    else:
        _lock_members(session, member_id, inviter.member_id)
        existing = binding_of(session, member_id, fresh=True)
        if existing is not None:
            return existing  # bound meanwhile: first wins
        if _would_cycle(session, shop_id, member_id, inviter.member_id):
            raise BindingRefused("binding would create a cycle in the invite tree", "invite_code")
        upper = binding_of(session, inviter.member_id, fresh=True)
    binding = Binding(
        member_id=member_id,
        shop_id=shop_id,
        tier1_id=inviter.member_id,
        tier2_id=upper.tier1_id if upper else None,
        tier3_id=upper.tier2_id if upper else None,
        source=source,
        source_ref=source_ref,
    )
    if made_here:
        session.add(binding)  # written with the next flush: no one else can bind this member
    else:
        try:
            with appends.savepoint(session):
                session.add(binding)
                session.flush()
        except IntegrityError:
            return binding_of(session, member_id)  # a concurrent first binding won
    db.memo(session, "bindings")[member_id] = binding
    trail.record(
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
