"""The demo shop's two months, seeded through the real pipeline: balanced ledger, balances that
match the commissions, and dashboard figures equal to sums worked out here."""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from plugin.cli import demo_data
from plugin.commissions.models import Attribution, Commission, CommissionStatus
from plugin.db import utcnow
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.members.models import Distributor, Member
from plugin.orders.models import Order, Refund
from plugin.reports.month import month_dashboard
from plugin.shops import tenants
from plugin.shops.models import Shop


def test_the_demo_shop_has_two_months_that_add_up(database, database_url):
    with database.transaction() as session:
        new = tenants.create_shop(session, name="Demo shop", platform="shopify")
    seeded = demo_data.seed(database_url, new.shop.id, new.webhook_secret, new.shop.timezone)
    now = utcnow()
    zone = ZoneInfo(new.shop.timezone)
    with database.read() as session:
        shop = session.get(Shop, new.shop.id)
        statuses = dict(
            session.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
        )
        orders = session.execute(
            select(Order.id, Order.paid_at, Order.paid_total, Order.refunded_total).where(
                Order.shop_id == shop.id
            )
        ).all()
        refunds = session.scalar(select(func.count()).select_from(Refund).where(Refund.shop_id == shop.id))
        attributed = set(session.scalars(select(Attribution.order_id).where(Attribution.tier == 1)))
        commissions = session.execute(
            select(
                Commission.order_id,
                Commission.beneficiary_id,
                Commission.status,
                Commission.amount - Commission.reversed,
            )
        ).all()
        members = session.scalars(select(Distributor.member_id).where(Distributor.shop_id == shop.id)).all()
        balances = {m: journal.member_balances(session, shop.id, m, shop.currency) for m in members}
        unbalanced = journal.unbalanced_transactions(session, shop.id)
        months = sorted({paid_at.astimezone(zone).strftime("%Y-%m") for _, paid_at, *_ in orders})
        boards = {month: month_dashboard(session, shop, month, now) for month in months}
        names = set(session.scalars(select(Member.display_name).where(Member.shop_id == shop.id)))

    assert set(statuses) == {"processed"}  # every delivery applied, none failed or ignored
    assert len(orders) == seeded.orders and 150 <= seeded.orders <= 400
    assert refunds == seeded.refunds > 0
    assert len(months) == 3 and len(attributed) > len(orders) // 2
    assert unbalanced == []
    pending: dict[int, int] = defaultdict(int)
    for _order, beneficiary, status, remaining in commissions:
        assert status in (CommissionStatus.PENDING, CommissionStatus.CANCELLED)  # settled by the sweep later
        pending[beneficiary] += remaining
    for member, balance in balances.items():
        assert balance == {
            "pending": pending[member],
            "available": 0,
            "withdrawing": 0,
            "paid": 0,
            "arrears": 0,
        }

    month_of = {order_id: paid_at.astimezone(zone).strftime("%Y-%m") for order_id, paid_at, *_ in orders}
    gmv, commission = defaultdict(int), defaultdict(int)
    for order_id, _paid_at, paid, refunded in orders:
        if order_id in attributed:
            gmv[month_of[order_id]] += paid - refunded
    for order_id, _beneficiary, _status, remaining in commissions:
        commission[month_of[order_id]] += remaining
    for month, board in boards.items():
        assert board.kpis["gmv"].current == gmv[month] > 0
        assert board.kpis["commission"].current == commission[month] > 0
        assert sum(board.commission_by_tier.values()) == commission[month]
    latest = boards[months[-1]]
    assert latest.kpis["payable"].current == sum(pending.values())
    assert latest.kpis["distributors_total"].current == len(members)
    assert latest.as_of is not None and latest.live_today
    assert {"王芳", "李伟", "138****5678"} <= names
    assert {t.name for t in latest.top} <= {name for name, _ in demo_data.DISTRIBUTORS}
