"""Members (OneID per shop) and distributors."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from plugin import db
from plugin.audit import trail
from plugin.db import insert_new
from plugin.errors import InvalidSetting, InvalidTransition, NotFound
from plugin.members.models import Binding, Distributor, DistributorStatus, Member, MemberIdentity
from plugin.states import StateMachine

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


def member_for_identity(
    session: Session, shop_id: int, platform: str, external_id: str, *, name: str | None = None
) -> Member:
    """The member behind a platform identity, created on first sight (race-safe); a new member
    is born with ``name`` as display name (no ``UPDATE`` after the ``INSERT``)."""
    key = (shop_id, platform, external_id)
    known = db.memo(session, "members")
    if key not in known:
        members_for_identities(session, shop_id, platform, [external_id], names={external_id: name})
    return known[key]


def members_for_identities(
    session: Session,
    shop_id: int,
    platform: str,
    external_ids,
    *,
    names: Mapping[str, str | None] | None = None,
) -> dict[str, Member]:
    """The members behind many identities of one platform, the missing ones created: one query
    when all are known, three more when some are new (a ``SELECT``, the new members' ``INSERT``
    and their identities' ``INSERT … ON CONFLICT DO NOTHING``). New members take their display
    name from ``names`` (external id -> name); known ones are left as they are (``give_name``).

    If another worker creates the same identity at the same moment, its member wins and the one
    made here is deleted again. Members created by this transaction are remembered as new: no
    one else can see them yet, so nobody can be bound under them (``bindings.bind``).
    """
    known = db.memo(session, "members")
    wanted = sorted({e for e in external_ids if (shop_id, platform, e) not in known})
    if wanted:
        _find_members(session, shop_id, platform, wanted)
        missing = [e for e in wanted if (shop_id, platform, e) not in known]
        if missing:
            _create_members(session, shop_id, platform, missing, names or {})
    return {e: known[(shop_id, platform, e)] for e in external_ids}


def _find_members(session: Session, shop_id: int, platform: str, external_ids: list[str]) -> None:
    rows = session.execute(
        select(MemberIdentity.external_id, Member)
        .join(Member, MemberIdentity.member_id == Member.id)
        .where(
            MemberIdentity.shop_id == shop_id,
            MemberIdentity.platform == platform,
            MemberIdentity.external_id.in_(external_ids),
        )
    )
    known = db.memo(session, "members")
    for external_id, member in rows:
        known[(shop_id, platform, external_id)] = member


def _create_members(
    session: Session, shop_id: int, platform: str, external_ids: list[str], names: Mapping[str, str | None]
) -> None:
    made = session.scalars(
        insert(Member).returning(Member, sort_by_parameter_order=True),
        [{"shop_id": shop_id, "display_name": names.get(e)} for e in external_ids],
    )
    members = dict(zip(external_ids, made, strict=True))  # RETURNING in the rows' order
    won = set(
        session.scalars(
            insert_new(session, MemberIdentity)
            .values(
                [
                    {"shop_id": shop_id, "platform": platform, "external_id": e, "member_id": m.id}
                    for e, m in members.items()
                ]
            )
            .on_conflict_do_nothing()
            .returning(MemberIdentity.external_id)
        )
    )
    known, new = db.memo(session, "members"), db.memo(session, "new_members")
    for external_id, member in members.items():
        if external_id in won:
            known[(shop_id, platform, external_id)] = member
            new[member.id] = True
        else:  # another worker created this identity first: use its member
            session.delete(member)
    lost = [e for e in external_ids if e not in won]
    if lost:
        session.flush()
        _find_members(session, shop_id, platform, lost)


def give_name(member: Member, name: str | None) -> None:
    """Take the platform's latest name for ``member``: a different one replaces the stored one
    (an ``UPDATE`` at the next flush, only then); an empty one never erases a known name."""
    if name and name != member.display_name:
        member.display_name = name


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
    db.memo(session, "not_distributors").pop(member_id, None)
    db.memo(session, "codes").pop((shop_id, code), None)
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


D = DistributorStatus
# The distributor's status machine: an applicant is approved or rejected (and may be approved on
# reconsideration), an approved distributor suspended, a suspended one reinstated.
TRANSITIONS: dict[DistributorStatus, tuple[DistributorStatus, ...]] = {
    D.APPLIED: (D.APPROVED, D.REJECTED),
    D.APPROVED: (D.SUSPENDED,),
    D.REJECTED: (D.APPROVED,),
    D.SUSPENDED: (D.APPROVED,),
}
MACHINE = StateMachine("distributor", TRANSITIONS)
# What an operator can do, from which statuses, to reach which status.
STATUS_ACTIONS: dict[str, tuple[tuple[DistributorStatus, ...], DistributorStatus]] = {
    "approve": ((D.APPLIED, D.REJECTED), D.APPROVED),
    "reject": ((D.APPLIED,), D.REJECTED),
    "suspend": ((D.APPROVED,), D.SUSPENDED),
    "reinstate": ((D.SUSPENDED,), D.APPROVED),
}
MAX_REASON = 500


def status_actions(status: str) -> list[str]:
    """The actions an operator may take on a distributor in ``status``."""
    return [name for name, (sources, _) in STATUS_ACTIONS.items() if status in sources]


def change_status(
    session: Session, shop_id: int, member_id: int, action: str, *, reason: str, actor: str = trail.SYSTEM
) -> bool:
    """Approve, reject, suspend or reinstate a distributor, with the operator's reason; audited
    as ``distributor.<approved|rejected|suspended|reinstated>`` with the previous status and the
    reason. Only approved distributors earn (``is_earning``), so a suspension stops commissions
    on orders paid after it; what was earned before stays.

    Returns:
        False if the distributor is already in the action's target status (nothing written).

    Raises:
        NotFound: the member is not a distributor of this shop.
        InvalidSetting: no reason, or one over 500 characters (``field`` ``reason``); an
            unknown action (``field`` ``action``).
        InvalidTransition: the action does not apply to the current status (``field`` ``action``).
    """
    if action not in STATUS_ACTIONS:
        raise InvalidSetting(f"unknown action {action!r}", "action")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidSetting("a reason is required", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidSetting(f"the reason is longer than {MAX_REASON} characters", "reason")
    distributor = session.get(Distributor, member_id, with_for_update=True)
    if distributor is None or distributor.shop_id != shop_id:
        raise NotFound(f"member {member_id} is not a distributor of this shop", "member_id")
    sources, target = STATUS_ACTIONS[action]
    if distributor.status == target:
        return False
    if distributor.status not in sources:
        raise InvalidTransition(f"cannot {action} a distributor who is {distributor.status}", field="action")
    previous = MACHINE.move(distributor, target)
    done = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "reinstated"}
    trail.record(
        session,
        shop_id,
        f"distributor.{done[action]}",
        "member",
        member_id,
        actor=actor,
        previous=str(previous),
        status=str(target),
        reason=reason,
    )
    return True


def distributor_by_code(session: Session, shop_id: int, code: str) -> Distributor | None:
    known = db.memo(session, "codes")
    if (shop_id, code) not in known:
        load_distributors(session, shop_id, codes=[code])
    return known[(shop_id, code)]


def load_distributors(session: Session, shop_id: int, *, member_ids=(), codes=()) -> None:
    """Load the distributor records of ``member_ids`` and of the owners of ``codes`` (one
    ``SELECT``) and remember who has none, so later lookups in this transaction hit."""
    members, codes = set(member_ids), set(codes)
    if not members and not codes:
        return
    rows = session.scalars(
        select(Distributor).where(
            Distributor.shop_id == shop_id,
            or_(Distributor.member_id.in_(sorted(members)), Distributor.invite_code.in_(sorted(codes))),
        )
    ).all()
    by_code, absent = db.memo(session, "codes"), db.memo(session, "not_distributors")
    for code in codes:
        by_code[(shop_id, code)] = None
    absent.update(dict.fromkeys(members))
    for row in rows:
        by_code[(shop_id, row.invite_code)] = row
        absent.pop(row.member_id, None)


def is_earning(session: Session, member_id: int) -> Distributor | None:
    """The member's distributor record if they may earn commissions now."""
    if member_id in db.memo(session, "not_distributors"):
        return None
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
