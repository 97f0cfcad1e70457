"""Requests, approvals and payouts at once never overdraw nor pay twice (row locks; on
PostgreSQL the threads really run side by side, each in its own connection)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from plugin.ledger import journal
from plugin.withdrawals import flow, paying, review
from plugin.withdrawals.errors import InsufficientFunds
from plugin.withdrawals.limits import LimitExceeded
from plugin.withdrawals.models import Payout, Withdrawal
from tests.plugin.withdrawals.kit import (
    NOW,
    FakeGateway,
    ask,
    balances,
    configure,
    credit,
    distributor,
    enter_payee,
    outside,
)


def attempt(database, shop_id, member_id, amount):
    try:
        return ask(database, shop_id, member_id, amount)
    except (InsufficientFunds, LimitExceeded) as refused:
        return refused.code


def test_parallel_requests_never_withdraw_more_than_available(database, shop):
    member = distributor(database, shop.id, "ann")
    credit(database, shop.id, member, 100_000)
    enter_payee(database, shop.id, member)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: attempt(database, shop.id, member, 30_000), range(16)))
    granted = [r for r in results if isinstance(r, int)]
    assert len(granted) == 3  # 3 × ¥300 fit in ¥1,000; a 4th would overdraw
    assert results.count("insufficient_funds") == 13
    assert balances(database, shop.id, member)["available"] == 10_000
    assert balances(database, shop.id, member)["withdrawing"] == 90_000


def test_parallel_requests_respect_a_daily_cap_shop_wide_per_channel(database, shop):
    configure(database, shop.id, channel_caps={"wechat": {"daily": 50_000}})
    members = []
    for name in "abcdefgh":
        member = distributor(database, shop.id, name)
        credit(database, shop.id, member, 100_000)
        enter_payee(database, shop.id, member, account=f"o-openid-{name}")
        members.append(member)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda m: attempt(database, shop.id, m, 20_000), members))
    assert sum(isinstance(r, int) for r in results) == 2
    assert results.count("limit_exceeded") == 6


def test_sending_and_sweeping_at_once_submits_each_payout_once(database, shop):
    member = distributor(database, shop.id, "ann")
    credit(database, shop.id, member, 1_000_000)
    enter_payee(database, shop.id, member)
    gateway = FakeGateway()
    ids = [ask(database, shop.id, member, 10_000) for _ in range(6)]
    parties = outside(gateway=gateway)
    for withdrawal_id in ids:
        flow.advance(database, parties, withdrawal_id, NOW)
        with database.transaction() as session:
            review.approve(session, session.get(review.Shop, shop.id), withdrawal_id, "fin-1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda w: flow.advance(database, parties, w, NOW), ids * 3))
    for _ in ids:  # one person: those that found another payout of theirs in flight waited
        flow.sweep(database, parties, NOW)
    with database.transaction() as session:
        payout_ids = list(session.scalars(select(Payout.id)))
    for payout_id in payout_ids:  # sent already: a late second send does nothing
        assert paying.send(database, parties.keys, parties.gateways, payout_id, NOW) == "succeeded"
    with database.transaction() as session:
        assert session.scalar(select(func.count()).where(Withdrawal.status == "paid")) == 6
        assert journal.unbalanced_transactions(session) == []
    assert sorted(p.out_no for p in gateway.submitted) == sorted(set(p.out_no for p in gateway.submitted))
    assert len(gateway.submitted) == 6
