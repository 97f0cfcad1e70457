"""The dashboard's day figures and months: equal to independent sums over the source rows, cut in
the shop's time zone, refreshed by an idempotent sweep that finds late refunds."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from plugin import runtime
from plugin.commissions.models import Attribution, Commission, MonthTally
from plugin.db import utcnow
from plugin.jobs import context, tasks
from plugin.ledger import journal
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.members.models import Distributor, Member
from plugin.orders.models import Order
from plugin.reports import refresh
from plugin.reports.figures import day_figures
from plugin.reports.models import DayFigures, FiguresMark
from plugin.reports.month import current_month, month_dashboard
from plugin.shops.models import Shop
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
EDGE_OCTOBER = 101  # paid 2026-10-31 23:30 in Shanghai: 15:30 UTC, October
EDGE_NOVEMBER = 102  # paid 2026-11-01 00:10 in Shanghai: 16:10 UTC on 31 October, November


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture
def scenario(make_shop, database, send):
    """A shop where A invited B; buyers come through B (tiers 1 and 2 earn), through A (tier 1
    only) or through nobody (no commission, no distribution GMV), in October and November."""
    shop = make_shop(tier_depth=2)
    with database.transaction() as session:
        a = member_for_identity(session, shop.id, "shopify", "a")
        b = member_for_identity(session, shop.id, "shopify", "b")
        make_distributor(session, shop.id, a.id, invite_code="INV-A")
        make_distributor(session, shop.id, b.id, invite_code="INV-B")
        bind(session, shop.id, b.id, "INV-A")
        a.display_name = "王芳"
        # A joined in October; B joins today
        session.execute(update(Distributor).where(Distributor.member_id == a.id).values(created_at=at(10, 2)))
    orders = [
        so.order(1, at(10, 3), [10000, 5000], customer=1, ref="INV-B"),
        so.order(2, at(10, 3, 22), [20000], customer=2, ref="INV-A"),
        so.order(3, at(10, 17), [7000], customer=3, ref=None),  # unattributed
        so.order(EDGE_OCTOBER, at(10, 31, 23, 30), [10000], customer=4, ref="INV-B"),
        so.order(EDGE_NOVEMBER, at(11, 1, 0, 10), [30000], customer=5, ref="INV-A"),
        so.order(103, at(11, 2), [8000, 2000], customer=1),
        so.order(104, at(11, 5), [40000], customer=2),
        so.order(105, at(11, 6), [5000], customer=6, ref="INV-B"),
    ]
    for payload in orders:
        assert send(shop, "orders/paid", payload).status_code == 200
    refunds = [
        so.refund(1, 9001, {0: 4000}, at(10, 20)),  # partial, in October
        so.refund(105, 9002, {0: 5000}, at(11, 8)),  # whole order: no longer counts
    ]
    for payload in refunds:
        assert send(shop, "refunds/create", payload).status_code == 200
    shop.a, shop.b = a.id, b.id
    return shop


def expected_days(database, shop_id: int, zone=SHANGHAI) -> dict[date, dict]:
    """Each day's GMV, commission per tier and orders with commission, summed here in Python."""
    with database.read() as session:
        orders = session.execute(
            select(Order.id, Order.paid_at, Order.paid_total, Order.refunded_total).where(
                Order.shop_id == shop_id, Order.paid_at.is_not(None)
            )
        ).all()
        attributed = set(
            session.scalars(
                select(Attribution.order_id).where(Attribution.shop_id == shop_id, Attribution.tier == 1)
            )
        )
        commissions = session.execute(
            select(Commission.order_id, Commission.tier, Commission.amount, Commission.reversed).where(
                Commission.shop_id == shop_id
            )
        ).all()
    day_of = {order_id: paid_at.astimezone(zone).date() for order_id, paid_at, *_ in orders}
    days: dict[date, dict] = defaultdict(lambda: {"gmv": 0, "tiers": [0, 0, 0], "orders": 0})
    for order_id, _paid_at, paid, refunded in orders:
        if order_id in attributed:
            days[day_of[order_id]]["gmv"] += paid - refunded
    net_per_order: dict[int, int] = defaultdict(int)
    for order_id, tier, amount, reversed_ in commissions:
        days[day_of[order_id]]["tiers"][tier - 1] += amount - reversed_
        net_per_order[order_id] += amount - reversed_
    for order_id, net in net_per_order.items():
        days[day_of[order_id]]["orders"] += net > 0
    return dict(days)


def stored_days(database, shop_id: int) -> dict[date, dict]:
    with database.read() as session:
        rows = session.scalars(select(DayFigures).where(DayFigures.shop_id == shop_id))
        return {
            row.day: {
                "gmv": row.gmv,
                "tiers": [row.commission_tier1, row.commission_tier2, row.commission_tier3],
                "orders": row.orders_with_commission,
                "paid": row.paid_change,
            }
            for row in rows
        }


def order_days_only(days: dict[date, dict]) -> dict[date, dict]:
    """The days with an order figure (the ledger's and joinings' days hold only those)."""
    return {
        day: {key: figures[key] for key in ("gmv", "tiers", "orders")}
        for day, figures in days.items()
        if figures["gmv"] or any(figures["tiers"]) or figures["orders"]
    }


def test_the_day_figures_equal_independent_sums_cut_in_the_shops_time_zone(scenario, database):
    assert refresh.sweep(database) > 0
    expected = expected_days(database, scenario.id)
    assert order_days_only(stored_days(database, scenario.id)) == order_days_only(expected)
    stored = stored_days(database, scenario.id)
    # the October edge order is on 31 October (it is 15:30 UTC), the November one on 1 November
    assert stored[date(2026, 10, 31)]["gmv"] == 10000
    assert stored[date(2026, 11, 1)]["gmv"] == 30000
    assert date(2026, 10, 17) not in order_days_only(stored)  # the unattributed order earns nothing
    assert all(figures["paid"] == 0 for figures in stored.values())  # nothing is paid out yet


def test_a_shop_that_moves_to_another_zone_has_its_days_cut_again(scenario, database):
    refresh.sweep(database)
    with database.transaction() as session:
        session.get(Shop, scenario.id).timezone = "UTC"
    refresh.sweep(database)
    expected = expected_days(database, scenario.id, zone=ZoneInfo("UTC"))
    stored = stored_days(database, scenario.id)
    assert order_days_only(stored) == order_days_only(expected)
    assert stored[date(2026, 10, 31)]["gmv"] == 10000 + 30000  # both edge orders, in UTC
    assert date(2026, 11, 1) not in order_days_only(stored)


def test_the_months_figures_equal_the_tallies_the_ledger_and_independent_sums(scenario, database):
    refresh.sweep(database)
    expected = expected_days(database, scenario.id)
    now = utcnow()
    with database.read() as session:
        shop = session.get(Shop, scenario.id)
        october = month_dashboard(session, shop, "2026-10", now)
        november = month_dashboard(session, shop, "2026-11", now)
        tallies = session.execute(
            select(MonthTally.month, MonthTally.member_id, MonthTally.sales, MonthTally.commission).where(
                MonthTally.shop_id == scenario.id
            )
        ).all()
        balances = [
            journal.member_balances(session, scenario.id, member, "CNY")
            for member in (scenario.a, scenario.b)
        ]

    def month_sum(month: int, key: str) -> int:
        return sum(
            sum(f["tiers"]) if key == "commission" else f[key]
            for d, f in expected.items()
            if d.month == month
        )

    for dashboard, month, previous in ((october, 10, 9), (november, 11, 10)):
        kpis = dashboard.kpis
        assert kpis["gmv"].current == month_sum(month, "gmv")
        assert kpis["gmv"].previous == month_sum(previous, "gmv")
        assert kpis["commission"].current == month_sum(month, "commission")
        assert kpis["orders_with_commission"].current == month_sum(month, "orders")
        this = [t for t in tallies if t.month == f"2026-{month:02d}"]
        assert kpis["gmv"].current == sum(t.sales for t in this)
        assert kpis["commission"].current == sum(t.commission for t in this)
        assert kpis["distributors_active"].current == sum(t.commission > 0 for t in this)
        assert dashboard.commission_by_tier == {
            tier: sum(f["tiers"][tier - 1] for d, f in expected.items() if d.month == month)
            for tier in (1, 2)
        }
        assert [(t.member_id, t.sales) for t in dashboard.top] == sorted(
            ((t.member_id, t.sales) for t in this if t.sales > 0), key=lambda pair: (-pair[1], pair[0])
        )
        assert kpis["paid"] == type(kpis["paid"])(0, 0)
    assert october.top[0].name in ("王芳", f"#{scenario.b}")
    assert {t.name for t in october.top} == {"王芳", f"#{scenario.b}"}
    # A joined in October, B today; the ledger was written today, so October ended owing nothing
    assert october.kpis["distributors_total"].current == 1
    assert october.kpis["payable"].current == 0
    this_month = current_month(shop, now)
    with database.read() as session:
        live = month_dashboard(session, shop, this_month, now)
    owed = sum(b["pending"] + b["available"] for b in balances)
    assert owed > 0
    assert live.kpis["payable"].current == owed
    assert live.kpis["distributors_total"].current == 2
    assert live.live_today and live.days[-1].live
    assert [d.day for d in live.days][-1] == now.astimezone(SHANGHAI).date()


def test_today_is_live_before_any_sweep(make_shop, database, send):
    shop = make_shop()
    with database.transaction() as session:
        a = member_for_identity(session, shop.id, "shopify", "a")
        make_distributor(session, shop.id, a.id, invite_code="INV-A")
    now = utcnow()
    assert (
        send(shop, "orders/paid", so.order(1, now - timedelta(minutes=1), [12300], ref="INV-A")).status_code
        == 200
    )
    with database.read() as session:
        row = session.get(Shop, shop.id)
        dashboard = month_dashboard(session, row, current_month(row, now), now)
        today = day_figures(session, row, now.astimezone(SHANGHAI).date())
    assert dashboard.as_of is None
    assert dashboard.kpis["gmv"].current == 12300 == today.gmv
    assert dashboard.kpis["orders_with_commission"].current == 1
    assert dashboard.kpis["distributors_total"].current == 1


def test_the_sweep_is_idempotent(scenario, database):
    refresh.sweep(database)
    first = stored_days(database, scenario.id)
    with database.transaction() as session:  # forget the mark: the next run recomputes every day
        session.execute(update(FiguresMark).values(covered_until=None))
    refresh.sweep(database)
    assert stored_days(database, scenario.id) == first
    refresh.sweep(database)
    assert stored_days(database, scenario.id) == first


def test_a_refund_after_the_day_was_stored_updates_that_day_and_nothing_else(
    scenario, database, send, monkeypatch
):
    monkeypatch.setattr(refresh, "MARGIN", timedelta(0))
    refresh.sweep(database)
    assert refresh.sweep(database) == 0  # nothing recorded since: nothing recomputed
    before = stored_days(database, scenario.id)
    assert send(scenario, "refunds/create", so.refund(2, 9003, {0: 5000}, at(11, 20))).status_code == 200
    today = utcnow().astimezone(SHANGHAI).date()
    assert refresh.sweep(database) == len({date(2026, 10, 3), today})  # the order's day; today's ledger
    after = stored_days(database, scenario.id)
    assert after[date(2026, 10, 3)]["gmv"] == before[date(2026, 10, 3)]["gmv"] - 5000
    assert after[date(2026, 10, 3)]["tiers"][0] == before[date(2026, 10, 3)]["tiers"][0] - 500  # its 10 %
    assert order_days_only(after) == order_days_only(expected_days(database, scenario.id))
    assert {d: f for d, f in after.items() if d not in (date(2026, 10, 3), today)} == {
        d: f for d, f in before.items() if d not in (date(2026, 10, 3), today)
    }


def test_a_second_sweep_passes_a_shop_another_sweep_is_refreshing(scenario, database):
    if database.dialect != "postgresql":
        pytest.skip("SQLite serializes writers at BEGIN IMMEDIATE: two sweeps never overlap")
    refresh.sweep(database)
    held, release = threading.Event(), threading.Event()

    def hold_the_mark():
        with database.transaction() as session:
            session.execute(
                select(FiguresMark).where(FiguresMark.shop_id == scenario.id).with_for_update()
            ).all()
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_mark)
    holder.start()
    assert held.wait(10)
    try:
        assert refresh.refresh_shop(database, scenario.id) is None
    finally:
        release.set()
        holder.join()
    assert isinstance(refresh.refresh_shop(database, scenario.id), int)  # free again: it runs


def test_another_shops_orders_never_count(scenario, make_shop, database, send):
    other = make_shop(name="Other")
    with database.transaction() as session:
        x = member_for_identity(session, other.id, "shopify", "x")
        make_distributor(session, other.id, x.id, invite_code="INV-B")  # the same code, elsewhere
    assert (
        send(other, "orders/paid", so.order(1, at(10, 3), [99900], customer=1, ref="INV-B")).status_code
        == 200
    )
    refresh.sweep(database)
    assert order_days_only(stored_days(database, scenario.id)) == order_days_only(
        expected_days(database, scenario.id)
    )
    assert stored_days(database, other.id)[date(2026, 10, 3)]["gmv"] == 99900
    with database.read() as session:
        names = session.scalars(select(Member.display_name).where(Member.shop_id == other.id)).all()
    assert "王芳" not in names


def test_the_sweep_is_registered_and_runs_as_a_job(scenario, app, database):
    assert any(func is tasks.figures_sweep for func, _queue, _seconds in tasks.SWEEPS)
    with context.using(app.extensions[runtime.EXTENSION]):
        assert tasks.figures_sweep() > 0
    assert order_days_only(stored_days(database, scenario.id)) == order_days_only(
        expected_days(database, scenario.id)
    )
