"""What the workbench reads about orders: a filtered, keyset-paged list and one order in full.

Decisions:
    * The list holds **paid** orders only (``paid_at`` set: paid, completed, refunded). An order
      never paid earns nothing and has no paid date to filter or page on.
    * Pages are keyset pages on ``(paid_at, id)``, newest first (``ix_orders_shop_paid_at``):
      a page deep in a million orders costs what the first one costs, and an order paid while
      someone pages never shifts what they see. A cursor names the last (or first) row seen.
    * Dates are the shop's calendar days: ``paid_from``/``paid_to`` are local dates, both
      included, turned into a UTC half-open range ``[from 00:00, to + 1 day 00:00)``.
    * "Commission" of an order is what its commissions are worth now: the amounts priced less
      what refunds have reversed, all tiers, whatever their status.
    * The page's commission totals come from one grouped query over the page's order ids; the
      order page reads lines, refunds, commissions and beneficiaries with one query each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from plugin.commissions import explain
from plugin.commissions.models import Commission
from plugin.errors import FenxiaoError, NotFound
from plugin.members.models import Distributor, Member
from plugin.orders.models import Order, OrderLine, OrderStatus, Refund
from plugin.shops.models import Shop

LISTED_STATUSES = (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.REFUNDED)
PAGE_SIZE = 50
_CURSOR_FORMAT = "%Y%m%dT%H%M%S.%f"


class InvalidFilter(FenxiaoError):
    """A filter or cursor the list cannot use; ``field`` names the form field."""

    code = "invalid_filter"
    status = 400


@dataclass(frozen=True)
class OrderFilter:
    """The list's filters; every one optional. ``distributor`` is a member id or invite code."""

    status: str | None = None
    paid_from: date | None = None
    paid_to: date | None = None
    distributor: str | None = None
    has_commission: bool | None = None


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the ``(paid_at, id)`` of a row."""

    paid_at: datetime
    order_id: int

    def token(self) -> str:
        return f"{self.paid_at.astimezone(UTC).strftime(_CURSOR_FORMAT)}_{self.order_id}"

    @classmethod
    def parse(cls, token: str, field_name: str = "after") -> Cursor:
        try:
            moment, _, order_id = token.partition("_")
            return cls(datetime.strptime(moment, _CURSOR_FORMAT).replace(tzinfo=UTC), int(order_id))
        except ValueError:
            raise InvalidFilter(f"not a position in the list: {token!r}", field_name) from None


@dataclass(frozen=True)
class OrderRow:
    id: int
    external_id: str
    status: str
    currency: str
    paid_total: int
    refunded_total: int
    paid_at: datetime
    commission: int = 0
    commissions: int = 0


@dataclass
class OrderPage:
    rows: list[OrderRow]
    next: Cursor | None = None  # rows after this page (older): ``after=next``
    previous: Cursor | None = None  # rows before it (newer): ``before=previous``


def list_orders(
    session: Session,
    shop: Shop,
    filters: OrderFilter,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> OrderPage:
    """One page of the shop's paid orders, newest first, with their commission totals.

    Args:
        after: Start after this row (the next page); ``before``: end before it (the previous).

    Raises:
        InvalidFilter: dates the wrong way round, an unknown status, an unknown distributor.
    """
    query = select(Order).where(Order.shop_id == shop.id, Order.paid_at.is_not(None))
    query = query.where(*_conditions(session, shop, filters))
    if before is not None:
        query = query.where(
            or_(
                Order.paid_at > before.paid_at,
                and_(Order.paid_at == before.paid_at, Order.id > before.order_id),
            )
        ).order_by(Order.paid_at, Order.id)
    else:
        if after is not None:
            query = query.where(
                or_(
                    Order.paid_at < after.paid_at,
                    and_(Order.paid_at == after.paid_at, Order.id < after.order_id),
                )
            )
        query = query.order_by(Order.paid_at.desc(), Order.id.desc())
    found = list(session.execute(query.with_only_columns(*_ROW_COLUMNS).limit(limit + 1)))
    more = len(found) > limit
    found = found[:limit]
    if before is not None:
        found.reverse()
    totals = _commission_totals(session, [row.id for row in found])
    rows = [OrderRow(*row, *totals.get(row.id, (0, 0))) for row in found]
    page = OrderPage(rows)
    if rows:
        first, last = Cursor(rows[0].paid_at, rows[0].id), Cursor(rows[-1].paid_at, rows[-1].id)
        if before is not None:
            page.previous, page.next = (first if more else None), last
        else:
            page.next = last if more else None
            page.previous = first if after is not None else None
    return page


_ROW_COLUMNS = (
    Order.id,
    Order.external_id,
    Order.status,
    Order.currency,
    Order.paid_total,
    Order.refunded_total,
    Order.paid_at,
)


def _conditions(session: Session, shop: Shop, filters: OrderFilter) -> list:
    conditions = []
    if filters.status:
        if filters.status not in LISTED_STATUSES:
            raise InvalidFilter(f"unknown status {filters.status!r}", "status")
        conditions.append(Order.status == filters.status)
    if filters.paid_from and filters.paid_to and filters.paid_from > filters.paid_to:
        raise InvalidFilter("the first day comes after the last", "paid_to")
    zone = ZoneInfo(shop.timezone)
    if filters.paid_from:
        conditions.append(Order.paid_at >= local_midnight(filters.paid_from, zone))
    if filters.paid_to:
        conditions.append(Order.paid_at < local_midnight(filters.paid_to + timedelta(days=1), zone))
    if filters.distributor:
        member_id = resolve_distributor(session, shop.id, filters.distributor)
        conditions.append(
            Order.id.in_(
                select(Commission.order_id).where(
                    Commission.shop_id == shop.id, Commission.beneficiary_id == member_id
                )
            )
        )
    if filters.has_commission is not None:
        earned = exists().where(Commission.order_id == Order.id)
        conditions.append(earned if filters.has_commission else ~earned)
    return conditions


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in ``zone``, as an aware UTC datetime."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def resolve_distributor(session: Session, shop_id: int, text: str) -> int:
    """The member id behind ``text``: a member id of this shop, or a distributor's invite code.

    Raises:
        InvalidFilter: on field ``distributor``, when neither names anyone in this shop.
    """
    text = text.strip()
    if text.isdigit() and len(text) <= 18:
        member = session.scalar(select(Member.id).where(Member.shop_id == shop_id, Member.id == int(text)))
        if member is not None:
            return member
    code = session.scalar(
        select(Distributor.member_id).where(
            Distributor.shop_id == shop_id, func.upper(Distributor.invite_code) == text.upper()
        )
    )
    if code is None:
        raise InvalidFilter(f"no member or invite code {text!r} in this shop", "distributor")
    return code


def _commission_totals(session: Session, order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """``order_id -> (amount less reversed, how many commissions)``, one grouped query."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(
            Commission.order_id,
            func.coalesce(func.sum(Commission.amount - Commission.reversed), 0),
            func.count(),
        )
        .where(Commission.order_id.in_(order_ids))
        .group_by(Commission.order_id)
    )
    return {order_id: (int(total), count) for order_id, total, count in rows}


@dataclass(frozen=True)
class RefundLineView:
    line_external_id: str
    product_id: str | None
    sku: str | None
    quantity: int
    amount: int


@dataclass(frozen=True)
class RefundView:
    refund: Refund
    lines: list[RefundLineView]


@dataclass(frozen=True)
class CommissionView:
    commission: Commission
    line: OrderLine | None
    beneficiary_name: str | None
    invite_code: str | None
    steps: list[explain.Step]


@dataclass
class OrderDetail:
    order: Order
    lines: list[OrderLine]
    refunds: list[RefundView] = field(default_factory=list)
    commissions: list[CommissionView] = field(default_factory=list)

    @property
    def commission_total(self) -> int:
        return sum(view.commission.remaining for view in self.commissions)


def order_detail(session: Session, shop_id: int, order_id: int) -> OrderDetail:
    """An order of this shop with its lines, refunds (with their lines), and commissions with
    their beneficiaries and explanations in steps.

    Raises:
        NotFound: no such order in this shop.
    """
    order = session.scalar(select(Order).where(Order.shop_id == shop_id, Order.id == order_id))
    if order is None:
        raise NotFound(f"no order {order_id} in this shop", "order_id")
    lines = list(order.lines)
    by_external = {line.external_id: line for line in lines}
    by_id = {line.id: line for line in lines}
    refunds = [
        RefundView(
            refund,
            [
                RefundLineView(
                    part.line_external_id,
                    getattr(by_external.get(part.line_external_id), "product_id", None),
                    getattr(by_external.get(part.line_external_id), "sku", None),
                    part.quantity,
                    part.amount,
                )
                for part in refund.lines
            ],
        )
        for refund in session.scalars(
            select(Refund)
            .where(Refund.shop_id == shop_id, Refund.order_id == order.id)
            .order_by(Refund.refunded_at, Refund.id)
        )
    ]
    commissions = list(
        session.scalars(
            select(Commission)
            .where(Commission.shop_id == shop_id, Commission.order_id == order.id)
            .order_by(Commission.tier, Commission.order_line_id, Commission.id)
        )
    )
    people: dict[int, tuple] = defaultdict(lambda: (None, None))
    if commissions:
        for member_id, name, code in session.execute(
            select(Member.id, Member.display_name, Distributor.invite_code)
            .outerjoin(Distributor, Distributor.member_id == Member.id)
            .where(Member.shop_id == shop_id, Member.id.in_({c.beneficiary_id for c in commissions}))
        ):
            people[member_id] = (name, code)
    views = [
        CommissionView(c, by_id.get(c.order_line_id), *people[c.beneficiary_id], explain.steps(c.explanation))
        for c in commissions
    ]
    return OrderDetail(order, lines, refunds, views)
