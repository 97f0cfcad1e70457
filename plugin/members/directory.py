"""Members (OneID per shop) and distributors."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.errors import InvalidSetting, NotFound
from plugin.members.models import Binding, Distributor, DistributorStatus, Member, MemberIdentity

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


def member_for_identity(session: Session, shop_id: int, platform: str, external_id: str) -> Member:
    """The member behind a platform identity, created on first sight (race-safe)."""
    query = (
        select(Member)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(
            MemberIdentity.shop_id == shop_id,
            MemberIdentity.platform == platform,
            MemberIdentity.external_id == external_id,
        )
    )
    member = session.scalar(query)
    if member is not None:
        return member
    try:
        with session.begin_nested():
            member = Member(shop_id=shop_id)
            session.add(member)
            session.flush()
            session.add(
                MemberIdentity(
                    shop_id=shop_id, platform=platform, external_id=external_id, member_id=member.id
                )
            )
            session.flush()
    except IntegrityError:
        member = session.scalar(query)  # another worker created it first
    return member


def get_member(session: Session, shop_id: int, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.shop_id != shop_id:
        raise NotFound(f"no member {member_id} in this shop", "member_id")
    return member


def new_invite_code() -> str:
    return "INV-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


def make_distributor(
    session: Session,
    shop_id: int,
    member_id: int,
    *,
    level: str = "B",
    invite_code: str | None = None,
    region: str | None = None,
    actor: str = trail.SYSTEM,
) -> Distributor:
    """Approve a member as a distributor with an invite code. Joining is free: no entry fee."""
    get_member(session, shop_id, member_id)
    existing = session.get(Distributor, member_id)
    if existing is not None:
        return existing
    code = invite_code or new_invite_code()
    if session.scalar(
        select(Distributor).where(Distributor.shop_id == shop_id, Distributor.invite_code == code)
    ):
        raise InvalidSetting(f"invite code {code} is taken", "invite_code")
    distributor = Distributor(
        member_id=member_id,
        shop_id=shop_id,
        level=level,
        invite_code=code,
        region=region,
        status=DistributorStatus.APPROVED,
    )
    session.add(distributor)
    trail.record(
        session,
        shop_id,
        "distributor.approved",
        "member",
        member_id,
        actor=actor,
        level=level,
        invite_code=code,
        region=region,
    )
    return distributor


UNCHANGED = object()


def update_distributor(
    session: Session,
    shop_id: int,
    member_id: int,
    *,
    level: str | None = None,
    region=UNCHANGED,
    actor: str = trail.SYSTEM,
) -> Distributor:
    """Change a distributor's level and/or region (``None`` clears the region); audited.

    Raises:
        NotFound: the member is not a distributor of this shop.
    """
    distributor = session.get(Distributor, member_id, with_for_update=True)
    if distributor is None or distributor.shop_id != shop_id:
        raise NotFound(f"member {member_id} is not a distributor of this shop", "member_id")
    changes = {}
    if level is not None and level != distributor.level:
        changes["level"] = [distributor.level, level]
        distributor.level = level
    if region is not UNCHANGED and region != distributor.region:
        changes["region"] = [distributor.region, region]
        distributor.region = region
    if changes:
        trail.record(session, shop_id, "distributor.updated", "member", member_id, actor=actor, **changes)
    return distributor


def distributor_by_code(session: Session, shop_id: int, code: str) -> Distributor | None:
    return session.scalar(
        select(Distributor).where(Distributor.shop_id == shop_id, Distributor.invite_code == code)
    )


def is_earning(session: Session, member_id: int) -> Distributor | None:
    """The member's distributor record if they may earn commissions now."""
    distributor = session.get(Distributor, member_id)
    if distributor is not None and distributor.status == DistributorStatus.APPROVED:
        return distributor
    return None


def list_members(session: Session, shop_id: int, *, limit: int = 100, after_id: int = 0) -> list[dict]:
    """The shop's members in id order, with their platform identities, distributor record and inviter."""
    rows = session.execute(
        select(Member.id, Distributor.status, Distributor.level, Distributor.invite_code, Binding.tier1_id)
        .outerjoin(Distributor, Distributor.member_id == Member.id)
        .outerjoin(Binding, Binding.member_id == Member.id)
        .where(Member.shop_id == shop_id, Member.id > after_id)
        .order_by(Member.id)
        .limit(limit)
    ).all()
    identities: dict[int, list[str]] = {}
    if rows:
        for member_id, platform, external_id in session.execute(
            select(MemberIdentity.member_id, MemberIdentity.platform, MemberIdentity.external_id)
            .where(MemberIdentity.member_id.in_([row[0] for row in rows]))
            .order_by(MemberIdentity.id)
        ):
            identities.setdefault(member_id, []).append(f"{platform}:{external_id}")
    return [
        {
            "member_id": member_id,
            "identities": identities.get(member_id, []),
            "distributor_status": status,
            "level": level,
            "invite_code": code,
            "inviter_id": inviter,
        }
        for member_id, status, level, code, inviter in rows
    ]
