"""The distributors as the workbench reads them: the searchable list with this month's figures,
and one distributor's balances, ledger, place in the tree and direct invitees.

Decisions:

- The list pages by **keyset** (a cursor of the sort key and the member id), not by offset: a
  page costs the same at the 2,400th page of 120K distributors as at the first, and a
  distributor joining while someone pages shifts nothing. The price is that pages are
  "previous / next" links, not numbered. The total is counted up to 10,000 (a count of 120K
  rows per page view would cost more than the page), above that the page says "more than".
- "Joined" is when the member became a distributor (``distributor.created_at``); this month is
  the shop-local calendar month now, its figures the member's ``MonthTally`` (GMV as the buyer's
  direct inviter, commission at every tier; net of refunds), zero when there is none.
- Search matches a member id exactly (digits), an invite code exactly (as typed or upper-cased),
  or a part of the display name (case-insensitive, wildcards taken literally).
- Direct invitees page by offset with a count: they are one indexed range
  (``ix_binding_shop_tier1``) of one distributor, shown with page numbers; the offset walks the
  bindings alone and only the page's rows are joined with names.
- A ledger entry's source is read from its transaction's key (``accrue:<commission id>``,
  ``settle:<id>``, ``reverse:<id>:<total>``: see ``commissions.accrual``, ``settlement`` and
  ``reversal``); the commissions a page names are loaded with their orders in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.audit.models import AuditEvent
from plugin.commissions import tallies
from plugin.commissions.models import Commission, MonthTally
from plugin.db import utcnow
from plugin.errors import InvalidSetting, NotFound
from plugin.ledger import journal
from plugin.ledger.models import DEBIT_NORMAL, AccountKind
from plugin.members.models import Binding, Distributor, DistributorStatus, Member
from plugin.orders.models import Order
from plugin.shops.models import Shop

SORTS = ("joined", "gmv")
PAGE_SIZE = 50
_MAX_ID = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class RosterRow:
    member_id: int
    name: str | None
    level: str
    status: str
    invite_code: str
    joined_at: datetime
    month_sales: int
    month_commission: int
    inviter_id: int | None
    inviter_name: str | None


@dataclass(frozen=True)
class RosterPage:
    rows: list[RosterRow]
    total: int
    month: str
    newer: str | None  # the cursor of the page before (``before=``), None on the first page
    older: str | None  # the cursor of the page after (``after=``), None on the last page


def current_month(shop: Shop, now: datetime | None = None) -> str:
    return tallies.month_of(shop, now or utcnow())


COUNT_LIMIT = 10_000  # counted exactly up to here; above it the page says "more than"


@dataclass(frozen=True)
class _Position:
    """Where a row sits in a sort: its segment (GMV sort: 0 = sales this month, 1 = none), the
    segment's key (sales in minor units, or the joining time in microseconds) and the member."""

    segment: int
    key: int
    member_id: int

    def encode(self) -> str:
        return f"{self.segment}.{self.key}.{self.member_id}"


def _position(sort: str, row: RosterRow) -> _Position:
    joined = (row.joined_at - _EPOCH) // _MICROSECOND
    if sort == "gmv" and row.month_sales > 0:
        return _Position(0, row.month_sales, row.member_id)
    return _Position(1 if sort == "gmv" else 0, joined, row.member_id)


def _parse_cursor(cursor: str) -> _Position:
    try:
        segment, key, member_id = (int(part) for part in cursor.split("."))
    except ValueError:
        raise InvalidSetting("not a page cursor", "cursor") from None
    if segment not in (0, 1) or not (0 <= key <= _MAX_ID and 0 <= member_id <= _MAX_ID):
        raise InvalidSetting("not a page cursor", "cursor")
    return _Position(segment, key, member_id)


def _conditions(shop_id: int, search: str, status: str | None, level: str | None) -> list:
    conditions = [Distributor.shop_id == shop_id]
    if status:
        conditions.append(Distributor.status == status)
    if level:
        conditions.append(Distributor.level == level)
    if search:
        matches = [Member.display_name.icontains(search, autoescape=True)]
        matches.append(Distributor.invite_code.in_({search, search.upper()}))
        if search.isdigit() and int(search) <= _MAX_ID:
            matches.append(Distributor.member_id == int(search))
        conditions.append(or_(*matches))
    return conditions


def roster(
    session: Session,
    shop: Shop,
    *,
    search: str = "",
    status: str | None = None,
    level: str | None = None,
    sort: str = "joined",
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    month: str | None = None,
) -> RosterPage:
    """One page of the shop's distributors, newest joined (or highest GMV this month) first.

    Each sort is read in *segments*, each walking one index in order and stopping at the page's
    end: by joined, one (``distributor (shop_id, created_at)``); by GMV, first the month's tallies
    with sales (``month_tally (shop_id, month, sales)``, highest first), then the distributors
    without sales this month, newest joined first. A cursor names its segment, so paging costs
    the same at any depth and nobody is shown twice or skipped.

    Raises:
        InvalidSetting: an unknown sort or status, or a cursor that is not one (``field`` says which).
    """
    if sort not in SORTS:
        raise InvalidSetting(f"unknown sort {sort!r}", "sort")
    if status and status not in set(DistributorStatus):
        raise InvalidSetting(f"unknown status {status!r}", "status")
    month = month or current_month(shop)
    conditions = _conditions(shop.id, (search or "").strip(), status, level)
    counted = (
        select(Distributor.member_id).join(Member, Member.id == Distributor.member_id).where(*conditions)
    )
    total = int(session.scalar(select(func.count()).select_from(counted.limit(COUNT_LIMIT + 1).subquery())))
    backwards = before is not None
    cursor = _parse_cursor(before if backwards else after) if (after or before) else None
    segments = (0, 1) if sort == "gmv" else (0,)
    if backwards:
        segments = segments[::-1]
    fetched: list[RosterRow] = []
    for segment in segments:
        if cursor is not None and (segment < cursor.segment if not backwards else segment > cursor.segment):
            continue
        bound = cursor if cursor is not None and cursor.segment == segment else None
        query = _segment(shop.id, month, conditions, sort, segment, bound, backwards)
        fetched += [
            RosterRow(**row._mapping) for row in session.execute(query.limit(limit + 1 - len(fetched)))
        ]
        if len(fetched) > limit:
            break
    more = len(fetched) > limit
    rows = fetched[:limit]
    if backwards:
        rows.reverse()
    has_newer = more if backwards else cursor is not None
    has_older = True if backwards else more
    return RosterPage(
        rows=rows,
        total=total,
        month=month,
        newer=_position(sort, rows[0]).encode() if rows and has_newer else None,
        older=_position(sort, rows[-1]).encode() if rows and has_older else None,
    )


def _segment(shop_id, month, conditions, sort, segment, bound, backwards):
    """The rows of one segment past ``bound``, in page order (reversed when ``backwards``)."""
    tally, inviter = aliased(MonthTally), aliased(Member)
    with_sales = sort == "gmv" and segment == 0
    key = tally.sales if with_sales else Distributor.created_at
    query = (
        select(
            Distributor.member_id,
            Member.display_name.label("name"),
            Distributor.level,
            Distributor.status,
            Distributor.invite_code,
            Distributor.created_at.label("joined_at"),
            func.coalesce(tally.sales, 0).label("month_sales"),
            func.coalesce(tally.commission, 0).label("month_commission"),
            Binding.tier1_id.label("inviter_id"),
            inviter.display_name.label("inviter_name"),
        )
        .join(Member, Member.id == Distributor.member_id)
        .join(
            tally,
            and_(tally.shop_id == shop_id, tally.member_id == Distributor.member_id, tally.month == month),
            isouter=not with_sales,
        )
        .outerjoin(Binding, Binding.member_id == Distributor.member_id)
        .outerjoin(inviter, inviter.id == Binding.tier1_id)
        .where(*conditions)
    )
    if with_sales:
        query = query.where(tally.shop_id == shop_id, tally.month == month, tally.sales > 0)
    elif sort == "gmv":
        query = query.where(or_(tally.sales.is_(None), tally.sales <= 0))
    if bound is not None:
        value = bound.key if with_sales else _EPOCH + bound.key * _MICROSECOND
        if backwards:
            query = query.where(or_(key > value, and_(key == value, Distributor.member_id > bound.member_id)))
        else:
            query = query.where(or_(key < value, and_(key == value, Distributor.member_id < bound.member_id)))
    if backwards:
        return query.order_by(key.asc(), Distributor.member_id.asc())
    return query.order_by(key.desc(), Distributor.member_id.desc())


# One distributor


@dataclass(frozen=True)
class Person:
    member_id: int
    name: str | None
    status: str | None = None  # their distributor status, None if they are not one


@dataclass(frozen=True)
class Profile:
    member_id: int
    name: str | None
    status: str
    level: str
    invite_code: str
    region: str | None
    joined_at: datetime
    month: str
    month_sales: int
    month_commission: int
    balances: dict[str, int]
    chain: list[Person]  # tier 1 (the inviter) upward, at most three
    bound_at: datetime | None
    status_history: list[AuditEvent] = field(default_factory=list)


def _people(session: Session, shop_id: int, member_ids) -> dict[int, Person]:
    ids = sorted({m for m in member_ids if m is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(Member.id, Member.display_name, Distributor.status)
        .outerjoin(Distributor, Distributor.member_id == Member.id)
        .where(Member.shop_id == shop_id, Member.id.in_(ids))
    )
    return {member_id: Person(member_id, name, status) for member_id, name, status in rows}


def profile(session: Session, shop: Shop, member_id: int, *, month: str | None = None) -> Profile:
    """A distributor of ``shop`` with balances, this month's figures and inviters up to tier 3.

    Raises:
        NotFound: ``member_id`` is not a distributor of this shop.
    """
    month = month or current_month(shop)
    found = session.execute(
        select(Distributor, Member.display_name)
        .join(Member, Member.id == Distributor.member_id)
        .where(Distributor.shop_id == shop.id, Distributor.member_id == member_id)
    ).first()
    if found is None:
        raise NotFound(f"member {member_id} is not a distributor of this shop", "member_id")
    distributor, name = found
    tally = session.execute(
        select(MonthTally.sales, MonthTally.commission).where(
            MonthTally.shop_id == shop.id, MonthTally.member_id == member_id, MonthTally.month == month
        )
    ).first()
    binding = session.scalar(
        select(Binding).where(Binding.shop_id == shop.id, Binding.member_id == member_id)
    )
    ancestors = [binding.ancestor(tier) for tier in (1, 2, 3)] if binding else []
    people = _people(session, shop.id, ancestors)
    history = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.shop_id == shop.id,
            AuditEvent.subject_type == "member",
            AuditEvent.subject_id == str(member_id),
            AuditEvent.action.like("distributor.%"),
        )
        .order_by(AuditEvent.id.desc())
        .limit(10)
    ).all()
    return Profile(
        member_id=member_id,
        name=name,
        status=distributor.status,
        level=distributor.level,
        invite_code=distributor.invite_code,
        region=distributor.region,
        joined_at=distributor.created_at,
        month=month,
        month_sales=tally.sales if tally else 0,
        month_commission=tally.commission if tally else 0,
        balances=journal.member_balances(session, shop.id, member_id, shop.currency),
        chain=[people.get(m, Person(m, None)) for m in ancestors if m is not None],
        bound_at=binding.bound_at if binding else None,
        status_history=list(history),
    )


@dataclass(frozen=True)
class Source:
    """Where a ledger entry came from, in words the page renders."""

    kind: str  # accrue, settle, cancel, clawback, or another transaction kind
    memo: str
    order_id: int | None = None
    order_external_id: str | None = None
    tier: int | None = None
    rule_version: int | None = None


@dataclass(frozen=True)
class Entry:
    id: int
    posted_at: datetime
    account: str
    amount: int  # what it did to the account's balance: + raises it, - lowers it
    currency: str
    source: Source


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    older: int | None  # ``before=`` for the next page, None on the last


def _commission_id(key: str) -> int | None:
    kind, _, rest = key.partition(":")
    if kind not in ("accrue", "settle", "reverse"):
        return None
    number = rest.split(":", 1)[0]
    return int(number) if number.isdigit() else None


def ledger(
    session: Session, shop: Shop, member_id: int, *, before: int | None = None, limit: int = PAGE_SIZE
) -> EntryPage:
    """A distributor's ledger entries, newest first, each with its source: two queries a page."""
    rows = journal.entries_of(session, shop.id, member_id, limit=limit + 1, before_id=before)
    more, rows = len(rows) > limit, rows[:limit]
    by_entry = {row.id: _commission_id(row.transaction.key) for row in rows}
    commissions = {}
    wanted = sorted({c for c in by_entry.values() if c is not None})
    if wanted:
        commissions = {
            row.id: row
            for row in session.execute(
                select(Commission.id, Commission.tier, Commission.rule_version, Order.id.label("order_id"))
                .add_columns(Order.external_id)
                .join(Order, Order.id == Commission.order_id)
                .where(Commission.shop_id == shop.id, Commission.id.in_(wanted))
            )
        }
    entries = []
    for row in rows:
        commission = commissions.get(by_entry[row.id])
        source = Source(kind=row.transaction.kind, memo=row.transaction.memo)
        if commission is not None:
            source = Source(
                kind=row.transaction.kind,
                memo=row.transaction.memo,
                order_id=commission.order_id,
                order_external_id=commission.external_id,
                tier=commission.tier,
                rule_version=commission.rule_version,
            )
        sign = 1 if AccountKind(row.account.kind) in DEBIT_NORMAL else -1
        entries.append(
            Entry(
                id=row.id,
                posted_at=row.transaction.posted_at,
                account=row.account.kind,
                amount=sign * row.amount,
                currency=row.currency,
                source=source,
            )
        )
    return EntryPage(entries=entries, older=rows[-1].id if rows and more else None)


@dataclass(frozen=True)
class Invitee:
    member_id: int
    name: str | None
    status: str | None
    level: str | None
    source: str
    bound_at: datetime


@dataclass(frozen=True)
class InviteePage:
    invitees: list[Invitee]
    total: int
    number: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def invitees(
    session: Session, shop: Shop, member_id: int, *, page: int = 1, per_page: int = PAGE_SIZE
) -> InviteePage:
    """The members ``member_id`` invited directly (tier 1), newest first, by page."""
    condition = and_(Binding.shop_id == shop.id, Binding.tier1_id == member_id)
    total = int(session.scalar(select(func.count()).select_from(Binding).where(condition)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    page_rows = (
        select(Binding.member_id, Binding.source, Binding.bound_at)
        .where(condition)
        .order_by(Binding.bound_at.desc(), Binding.member_id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
        .subquery()
    )  # the offset walks the bindings alone; names and statuses are joined for this page only
    rows = session.execute(
        select(
            page_rows.c.member_id,
            Member.display_name,
            Distributor.status,
            Distributor.level,
            page_rows.c.source,
            page_rows.c.bound_at,
        )
        .join(Member, Member.id == page_rows.c.member_id)
        .outerjoin(Distributor, Distributor.member_id == page_rows.c.member_id)
        .order_by(page_rows.c.bound_at.desc(), page_rows.c.member_id.desc())
    )
    return InviteePage([Invitee(*row) for row in rows], total, page, pages)
