"""A distributor's team: who is below them, level by level, to depth 3, without walking a tree.

Every binding carries its member's three ancestors (``tier1_id`` … ``tier3_id``), so the
members ``n`` levels below a distributor are exactly the bindings whose ``tier{n}_id`` is that
distributor: one indexed query per level (``ix_binding_shop_tier1/2/3``), whatever the size of
the team. Nothing here recurses or asks anything per node.

Decisions:
    * Depth is always 3 (the most any shop pays, and what bindings record), whatever the
      shop's own tier depth: the tree shows the team, not only the tiers paid today.
    * **GMV of a level** is this shop-local calendar month's paid orders *bought by the members
      at that level*, net of refunds (``paid_total - refunded_total`` of orders whose
      ``paid_at`` falls in the month): what the team at that level spent, whether or not the
      distributor earned on it (a suspended distributor's team still buys). One grouped query
      for the three levels, reading bindings by their tier indexes and orders by
      ``buyer_member_id``.
    * Each level is paged on its own (``page`` of ``per_page``, ordered by member id, the
      binding's primary key): a city partner's level 3 may hold tens of thousands.
    * A node shows its own direct invitees' count: one grouped query on ``tier1_id`` for the
      members of the page.
    * Search finds distributors of any status by member id, invite code (exact, any case) or a
      part of the display name (any case; a scan of the shop's distributors, which are few
      beside its members and orders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.errors import NotFound
from plugin.members.models import Binding, Distributor, Member
from plugin.orders.models import Order
from plugin.shops.models import Shop

DEPTH = 3
TIERS = {1: Binding.tier1_id, 2: Binding.tier2_id, 3: Binding.tier3_id}


@dataclass(frozen=True)
class Node:
    member_id: int
    name: str | None
    level: str | None  # the distributor's level (B/A/S…); None for a member who is no distributor
    status: str | None
    invite_code: str | None
    inviter_id: int | None
    inviter_name: str | None
    direct: int = 0  # their own direct invitees


@dataclass(frozen=True)
class LevelPage:
    """One page of the members ``depth`` levels below the root."""

    depth: int
    number: int
    per_page: int
    total: int
    nodes: list[Node]

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class Level:
    depth: int
    members: int
    gmv: int  # minor units of the shop's currency, this month (see the module's note)


@dataclass
class Team:
    root: Node
    month: str  # YYYY-MM, shop-local
    levels: list[Level]
    pages: dict[int, LevelPage] = field(default_factory=dict)

    @property
    def members(self) -> int:
        return sum(level.members for level in self.levels)


def find_distributors(session: Session, shop_id: int, text: str, *, limit: int = 20) -> list[Node]:
    """Distributors of this shop matching ``text``: member id, invite code (those first) or part of
    the name."""
    text = text.strip()
    if not text:
        return []
    exact = [func.upper(Distributor.invite_code) == text.upper()]
    if text.isdigit() and len(text) <= 18:
        exact.append(Distributor.member_id == int(text))
    matches = [*exact, func.lower(Member.display_name).contains(text.lower(), autoescape=True)]
    rows = session.execute(
        _node_columns()
        .select_from(Distributor)
        .join(Member, Member.id == Distributor.member_id)
        .outerjoin(Binding, Binding.member_id == Distributor.member_id)
        .outerjoin(_INVITER, _INVITER.id == Binding.tier1_id)
        .where(Distributor.shop_id == shop_id, or_(*matches))
        .order_by(case((or_(*exact), 0), else_=1), Distributor.member_id)  # exact matches first
        .limit(limit)
    )
    return [Node(*row) for row in rows]


def team_of(
    session: Session,
    shop: Shop,
    member_id: int,
    now: datetime,
    *,
    pages: dict[int, int] | None = None,
    per_page: int = 20,
) -> Team:
    """The distributor's team: counts and GMV per level, and the asked page of every level.

    Args:
        pages: ``depth -> page number`` (1 where not given).

    Raises:
        NotFound: ``member_id`` is not a distributor of this shop.
    """
    root = session.execute(
        _node_columns()
        .select_from(Distributor)
        .join(Member, Member.id == Distributor.member_id)
        .outerjoin(Binding, Binding.member_id == Distributor.member_id)
        .outerjoin(_INVITER, _INVITER.id == Binding.tier1_id)
        .where(Distributor.shop_id == shop.id, Distributor.member_id == member_id)
    ).first()
    if root is None:
        raise NotFound(f"member {member_id} is not a distributor of this shop", "member_id")
    counts = level_counts(session, shop.id, member_id)
    month, start, end = month_bounds(shop, now)
    gmv = level_gmv(session, shop.id, member_id, start, end)
    levels = [Level(depth, counts[depth], gmv.get(depth, 0)) for depth in range(1, DEPTH + 1)]
    team = Team(Node(*root), month, levels)
    pages = pages or {}
    for level in levels:
        team.pages[level.depth] = LevelPage(
            level.depth, max(pages.get(level.depth, 1), 1), per_page, level.members, []
        )
    nodes = {
        depth: level_nodes(session, shop.id, member_id, depth, page.number, per_page)
        for depth, page in team.pages.items()
        if page.total and (page.number - 1) * per_page < page.total
    }
    direct = direct_counts(session, shop.id, [n.member_id for found in nodes.values() for n in found])
    direct[member_id] = counts[1]
    team.root = _with_direct(team.root, direct)
    for depth, found in nodes.items():
        page = team.pages[depth]
        team.pages[depth] = LevelPage(
            depth, page.number, per_page, page.total, [_with_direct(n, direct) for n in found]
        )
    return team


def level_counts(session: Session, shop_id: int, member_id: int) -> dict[int, int]:
    """How many members are 1, 2 and 3 levels below ``member_id``: one query, the three tier
    indexes (a member is at most at one level below anyone: bindings have no cycles)."""
    row = session.execute(
        select(
            *(
                func.coalesce(func.sum(case((column == member_id, 1), else_=0)), 0)
                for column in TIERS.values()
            )
        ).where(Binding.shop_id == shop_id, or_(*(column == member_id for column in TIERS.values())))
    ).one()
    return {depth: int(row[depth - 1]) for depth in TIERS}


def level_gmv(
    session: Session, shop_id: int, member_id: int, start: datetime, end: datetime
) -> dict[int, int]:
    """``depth -> GMV`` of the members at each level below ``member_id``: their orders paid in
    ``[start, end)``, net of refunds. One grouped query."""
    depth = case((Binding.tier1_id == member_id, 1), (Binding.tier2_id == member_id, 2), else_=3)
    rows = session.execute(
        select(depth.label("depth"), func.coalesce(func.sum(Order.paid_total - Order.refunded_total), 0))
        .select_from(Binding)
        .join(Order, Order.buyer_member_id == Binding.member_id)
        .where(
            Binding.shop_id == shop_id,
            or_(*(column == member_id for column in TIERS.values())),
            Order.shop_id == shop_id,
            Order.paid_at >= start,
            Order.paid_at < end,
        )
        .group_by(depth)
    )
    return {int(level): int(total) for level, total in rows}


def level_nodes(
    session: Session, shop_id: int, member_id: int, depth: int, page: int, per_page: int
) -> list[Node]:
    """Page ``page`` (from 1) of the members ``depth`` levels below ``member_id``, by member id."""
    rows = session.execute(
        _node_columns()
        .select_from(Binding)
        .join(Member, Member.id == Binding.member_id)
        .outerjoin(Distributor, Distributor.member_id == Binding.member_id)
        .outerjoin(_INVITER, _INVITER.id == Binding.tier1_id)
        .where(Binding.shop_id == shop_id, TIERS[depth] == member_id)
        .order_by(Binding.member_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return [Node(*row) for row in rows]


def direct_counts(session: Session, shop_id: int, member_ids: list[int]) -> dict[int, int]:
    """``member_id -> how many they invited directly``, one grouped query (absent: 0)."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(Binding.tier1_id, func.count())
        .where(Binding.shop_id == shop_id, Binding.tier1_id.in_(sorted(set(member_ids))))
        .group_by(Binding.tier1_id)
    )
    return {inviter: count for inviter, count in rows}


def month_bounds(shop: Shop, now: datetime) -> tuple[str, datetime, datetime]:
    """The shop-local calendar month of ``now``: ``("YYYY-MM", start, end)``, the bounds in UTC."""
    zone = ZoneInfo(shop.timezone)
    local = now.astimezone(zone)
    first = local.date().replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(next_first, time(), tzinfo=zone).astimezone(UTC)
    return first.strftime("%Y-%m"), start, end


_INVITER = aliased(Member)


def _node_columns():
    return select(
        Member.id,
        Member.display_name,
        Distributor.level,
        Distributor.status,
        Distributor.invite_code,
        Binding.tier1_id,
        _INVITER.display_name,
    )


def _with_direct(node: Node, direct: dict[int, int]) -> Node:
    return replace(node, direct=direct.get(node.member_id, 0))
