"""The distributors' roster: search, filters, keyset pages in both sorts, this month's figures
from the tallies, a distributor's ledger with its sources, invitees; and the status machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.commissions.models import Commission, MonthTally
from plugin.errors import InvalidSetting, InvalidTransition, NotFound
from plugin.ledger import journal
from plugin.members import bindings, directory, roster
from plugin.members.models import Distributor
from plugin.orders.models import Order
from plugin.shops.models import Shop
from tests.plugin import shopify_orders as so

JOINED = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = "2026-11"


def add(session, shop_id: int, key: str, *, name=None, level="B", status="approved", joined=None, under=None):
    """A distributor ``key`` (code ``INV-<key>``), optionally invited by the owner of ``under``."""
    member = directory.member_for_identity(session, shop_id, "demo", key, name=name)
    distributor = directory.make_distributor(
        session, shop_id, member.id, invite_code=f"INV-{key}", level=level
    )
    distributor.status = status
    distributor.created_at = joined or JOINED
    if under:
        bindings.bind(session, shop_id, member.id, f"INV-{under}")
    return member.id


def tally(session, shop_id: int, member_id: int, sales: int, commission: int, month: str = MONTH):
    session.add(
        MonthTally(shop_id=shop_id, member_id=member_id, month=month, sales=sales, commission=commission)
    )


def page_ids(page) -> list[int]:
    return [row.member_id for row in page.rows]


@pytest.fixture
def seven(database, shop):
    """Seven distributors d0..d6 joined a day apart (d6 newest); returns their ids in that order."""
    with database.transaction() as session:
        return [
            add(session, shop.id, f"D{n}", name=f"Name {n}", joined=JOINED + timedelta(days=n))
            for n in range(7)
        ]


def read(database, shop_id: int, **options):
    with database.read() as session:
        shop = session.get(Shop, shop_id)
        return roster.roster(session, shop, month=MONTH, **options)


def test_keyset_pages_by_joined_are_exact_in_both_directions(database, shop, seven):
    newest_first = seven[::-1]
    first = read(database, shop.id, limit=3)
    assert page_ids(first) == newest_first[:3] and first.total == 7 and first.newer is None
    second = read(database, shop.id, limit=3, after=first.older)
    assert page_ids(second) == newest_first[3:6] and second.newer is not None
    last = read(database, shop.id, limit=3, after=second.older)
    assert page_ids(last) == newest_first[6:] and last.older is None
    back = read(database, shop.id, limit=3, before=last.newer)
    assert page_ids(back) == newest_first[3:6] and back.older == second.older
    assert page_ids(read(database, shop.id, limit=3, before=back.newer)) == newest_first[:3]
    assert read(database, shop.id, limit=3, before=back.newer).newer is None


def test_keyset_pages_by_gmv_break_ties_by_member_and_count_missing_tallies_as_zero(database, shop, seven):
    with database.transaction() as session:
        for member, sales in zip(seven[:4], [500, 900, 500, 100], strict=True):
            tally(session, shop.id, member, sales, sales // 10)
        tally(session, shop.id, seven[4], 99999, 1, month="2026-10")  # another month: not this one
    expected = [seven[1], seven[2], seven[0], seven[3], seven[6], seven[5], seven[4]]
    seen, after = [], None
    while True:
        page = read(database, shop.id, sort="gmv", limit=2, after=after)
        seen += page_ids(page)
        if page.older is None:
            break
        after = page.older
    assert seen == expected
    rows = {row.member_id: row for row in read(database, shop.id, sort="gmv").rows}
    assert (rows[seven[1]].month_sales, rows[seven[1]].month_commission) == (900, 90)
    assert (rows[seven[4]].month_sales, rows[seven[4]].month_commission) == (0, 0)


def test_search_by_name_part_code_or_member_id_and_filters(database, shop):
    with database.transaction() as session:
        wang = add(session, shop.id, "W", name="王小明", level="A")
        ada = add(session, shop.id, "ADA", name="Ada 100%", status="suspended")
        plain = add(session, shop.id, "P", name=None, level="A")
    assert page_ids(read(database, shop.id, search="小明")) == [wang]
    assert page_ids(read(database, shop.id, search="ada")) == [ada]
    assert page_ids(read(database, shop.id, search="100%")) == [ada]
    assert read(database, shop.id, search="1%").rows == []  # % is a character, not a wildcard
    assert page_ids(read(database, shop.id, search="inv-p")) == [plain]
    assert page_ids(read(database, shop.id, search=str(plain))) == [plain]
    assert page_ids(read(database, shop.id, search="9" * 30)) == []
    assert sorted(page_ids(read(database, shop.id, level="A"))) == sorted([wang, plain])
    suspended = read(database, shop.id, status="suspended")
    assert page_ids(suspended) == [ada] and suspended.total == 1
    assert page_ids(read(database, shop.id, level="A", status="suspended")) == []


def test_inviter_is_the_tier1_distributor_and_other_shops_never_show(database, shop, make_shop):
    other = make_shop(name="Other")
    with database.transaction() as session:
        root = add(session, shop.id, "ROOT", name="Root")
        child = add(session, shop.id, "CHILD", under="ROOT")
        add(session, other.id, "ELSE", name="Elsewhere")
    rows = {row.member_id: row for row in read(database, shop.id).rows}
    assert set(rows) == {root, child}
    assert (rows[child].inviter_id, rows[child].inviter_name) == (root, "Root")
    assert rows[root].inviter_id is None


@pytest.mark.parametrize("cursor", ["x", "1", "1.2", "0.1.x", "2.1.1", "0.-1.1", f"0.{2**64}.1", "0.1.2.3"])
def test_a_bad_cursor_is_refused(database, shop, cursor):
    with pytest.raises(InvalidSetting):
        read(database, shop.id, after=cursor)


def test_the_count_stops_at_its_limit(database, shop, seven, monkeypatch):
    monkeypatch.setattr(roster, "COUNT_LIMIT", 5)
    assert read(database, shop.id).total == 6  # more than the limit: the page says "more than 5"
    assert read(database, shop.id, search="Name 3").total == 1


def test_gmv_pages_backwards_across_the_segments(database, shop, seven):
    with database.transaction() as session:
        for member, sales in zip(seven[:3], [300, 200, 100], strict=True):
            tally(session, shop.id, member, sales, 1)
        tally(session, shop.id, seven[3], 0, 0)  # a tally without sales sits with the zeros
    expected = [seven[0], seven[1], seven[2], seven[6], seven[5], seven[4], seven[3]]
    pages, after = [], None
    while True:
        page = read(database, shop.id, sort="gmv", limit=2, after=after)
        pages.append(page)
        if page.older is None:
            break
        after = page.older
    assert [page_ids(p) for p in pages] == [expected[0:2], expected[2:4], expected[4:6], expected[6:]]
    for n in range(len(pages) - 1, 0, -1):
        assert page_ids(read(database, shop.id, sort="gmv", limit=2, before=pages[n].newer)) == page_ids(
            pages[n - 1]
        )


def test_unknown_sort_or_status_is_refused(database, shop):
    with pytest.raises(InvalidSetting):
        read(database, shop.id, sort="name")
    with pytest.raises(InvalidSetting):
        read(database, shop.id, status="gone")


# one distributor: figures and ledger sources from orders sent through the pipeline


def test_profile_ledger_and_invitees_follow_what_the_pipeline_did(database, shop, send):
    with database.transaction() as session:
        top = add(session, shop.id, "TOP", name="Top")
        mid = add(session, shop.id, "X", name="Mid", under="TOP")
    paid = datetime.now(UTC)
    for n, customer in enumerate((801, 802, 803)):
        payload = so.order(9000 + n, paid - timedelta(minutes=n), [10000 + n * 1000, 2500], customer=customer)
        assert send(shop, "orders/paid", payload).status_code == 200
    with database.read() as session:
        shop_row = session.get(Shop, shop.id)
        person = roster.profile(session, shop_row, mid)
        earned = session.execute(
            select(
                Commission.id,
                Commission.amount,
                Commission.tier,
                Commission.rule_version,
                Order.id,
                Order.external_id,
            )
            .join(Order, Order.id == Commission.order_id)
            .where(Commission.beneficiary_id == mid)
        ).all()
        first = roster.ledger(session, shop_row, mid, limit=4)
        rest = roster.ledger(session, shop_row, mid, limit=4, before=first.older)
        balances = journal.member_balances(session, shop.id, mid, shop_row.currency)
        page = roster.invitees(session, shop_row, mid, per_page=2)
        page2 = roster.invitees(session, shop_row, mid, per_page=2, page=2)
        top_invitees = roster.invitees(session, shop_row, top)
    assert len(earned) == 6  # three orders, two lines each, at tier 1
    assert [p.member_id for p in person.chain] == [top] and person.chain[0].name == "Top"
    assert person.month_commission == sum(amount for _, amount, *_ in earned)
    assert person.month_sales == 10000 + 11000 + 12000 + 3 * 2500
    assert person.balances == balances and balances["pending"] == person.month_commission
    entries = first.entries + rest.entries
    assert rest.older is None and len(entries) == 6
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    by_commission = {
        (amount, tier, version, order_id, external): None
        for _, amount, tier, version, order_id, external in earned
    }
    assert {
        (e.amount, e.source.tier, e.source.rule_version, e.source.order_id, e.source.order_external_id)
        for e in entries
    } == set(by_commission)
    assert {(e.account, e.source.kind) for e in entries} == {("pending", "accrue")}
    assert (page.total, page.pages, len(page.invitees), len(page2.invitees)) == (3, 2, 2, 1)
    assert {i.source for i in page.invitees + page2.invitees} == {"order_ref"}
    assert [i.member_id for i in top_invitees.invitees] == [mid] and top_invitees.invitees[
        0
    ].status == "approved"


def test_profile_of_another_shops_distributor_is_not_found(database, shop, make_shop):
    other = make_shop(name="Other")
    with database.transaction() as session:
        elsewhere = add(session, other.id, "ELSE")
    with database.read() as session, pytest.raises(NotFound):
        roster.profile(session, session.get(Shop, shop.id), elsewhere)


# the status machine


def audit_count(database, shop_id: int) -> int:
    with database.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.like("distributor.%"))
            .where(AuditEvent.shop_id == shop_id)
        )


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        ("applied", "approve", "approved"),
        ("applied", "reject", "rejected"),
        ("rejected", "approve", "approved"),
        ("approved", "suspend", "suspended"),
        ("suspended", "reinstate", "approved"),
    ],
)
def test_status_changes_follow_the_table_and_are_audited_with_the_reason(database, shop, start, action, end):
    with database.transaction() as session:
        member = add(session, shop.id, "S", status=start)
    before = audit_count(database, shop.id)
    with database.transaction() as session:
        assert (
            directory.change_status(session, shop.id, member, action, reason="  checked  ", actor="op@x")
            is True
        )
    with database.read() as session:
        assert session.get(Distributor, member).status == end
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert audit_count(database, shop.id) == before + 1
    assert (event.actor, event.subject_id, event.data) == (
        "op@x",
        str(member),
        {"previous": start, "status": end, "reason": "checked"},
    )


@pytest.mark.parametrize(
    ("start", "action", "error"),
    [
        ("approved", "reject", InvalidTransition),
        ("suspended", "approve", InvalidTransition),
        ("applied", "suspend", InvalidTransition),
        ("approved", "delete", InvalidSetting),
    ],
)
def test_a_move_the_table_does_not_allow_changes_nothing(database, shop, start, action, error):
    with database.transaction() as session:
        member = add(session, shop.id, "S", status=start)
    before = audit_count(database, shop.id)
    with pytest.raises(error) as refused, database.transaction() as session:
        directory.change_status(session, shop.id, member, action, reason="because")
    assert refused.value.field == "action"
    with database.read() as session:
        assert session.get(Distributor, member).status == start
    assert audit_count(database, shop.id) == before


def test_a_reason_is_required_and_the_member_must_be_of_the_shop(database, shop, make_shop):
    other = make_shop(name="Other")
    with database.transaction() as session:
        member = add(session, shop.id, "S")
        elsewhere = add(session, other.id, "E")
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(InvalidSetting) as refused, database.transaction() as session:
            directory.change_status(session, shop.id, member, "suspend", reason=reason)
        assert refused.value.field == "reason"
    with pytest.raises(NotFound), database.transaction() as session:
        directory.change_status(session, shop.id, elsewhere, "suspend", reason="not mine")
    with database.read() as session:
        assert [session.get(Distributor, m).status for m in (member, elsewhere)] == ["approved", "approved"]


def test_the_target_status_already_reached_writes_nothing(database, shop):
    with database.transaction() as session:
        member = add(session, shop.id, "S", status="suspended")
    before = audit_count(database, shop.id)
    with database.transaction() as session:
        assert directory.change_status(session, shop.id, member, "suspend", reason="again") is False
    assert audit_count(database, shop.id) == before


def test_a_suspended_distributor_earns_nothing_on_later_orders(database, shop, send):
    with database.transaction() as session:
        member = add(session, shop.id, "X")
        directory.change_status(session, shop.id, member, "suspend", reason="fraud check")
    payload = so.order(9100, datetime.now(UTC), [10000], customer=901)
    assert send(shop, "orders/paid", payload).status_code == 200
    with database.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Commission).where(Commission.beneficiary_id == member)
            )
            == 0
        )
