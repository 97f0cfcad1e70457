"""A distributor's team: members per level from the bindings' precomputed ancestors, each level
paged exactly, GMV of the shop-local month, direct-invitee counts, search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from plugin.errors import NotFound
from plugin.members import team
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.members.models import Member
from plugin.orders.models import Order
from plugin.shops.models import Shop

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 15, 12, tzinfo=CST)


def person(session, shop_id: int, name: str, *, distributor: bool = True, under: str | None = None) -> int:
    """A member named ``name`` (identity = name), a distributor with code ``INV-<NAME>`` if
    ``distributor``, bound under the code ``under``. Returns the member id."""
    member = member_for_identity(session, shop_id, "shopify", name)
    member.display_name = name
    session.flush()
    if under:
        bind(session, shop_id, member.id, under)
    if distributor:
        make_distributor(session, shop_id, member.id, invite_code=f"INV-{name.upper()}")
    return member.id


def build_chain(database, shop_id: int, tier1: int = 25) -> dict:
    """root; ``tier1`` members under it (all distributors); 3 under d0 and 2 under d1 (level 2);
    2 under d0-0 (level 3); and one under d0-0-0, four levels down (below the tree)."""
    ids = {}
    with database.transaction() as session:
        ids["root"] = person(session, shop_id, "root")
        for n in range(tier1):
            ids[f"d{n}"] = person(session, shop_id, f"d{n}", under="INV-ROOT")
        for parent, count in (("d0", 3), ("d1", 2)):
            for n in range(count):
                ids[f"{parent}-{n}"] = person(
                    session, shop_id, f"{parent}-{n}", under=f"INV-{parent.upper()}"
                )
        for n in range(2):
            ids[f"d0-0-{n}"] = person(session, shop_id, f"d0-0-{n}", under="INV-D0-0")
        ids["deep"] = person(session, shop_id, "deep", distributor=False, under="INV-D0-0-0")
    return ids


def paid_order(
    session, shop_id: int, external_id: str, buyer: int, paid_at: datetime, total: int, refunded=0
):
    session.add(
        Order(
            shop_id=shop_id,
            platform="shopify",
            external_id=external_id,
            currency="CNY",
            status="paid",
            buyer_member_id=buyer,
            paid_total=total,
            refunded_total=refunded,
            paid_at=paid_at,
        )
    )


def test_each_level_counts_the_members_that_many_levels_below(database, shop):
    ids = build_chain(database, shop.id)
    with database.read() as session:
        assert team.level_counts(session, shop.id, ids["root"]) == {1: 25, 2: 5, 3: 2}
        assert team.level_counts(session, shop.id, ids["d0"]) == {1: 3, 2: 2, 3: 1}
        assert team.level_counts(session, shop.id, ids["deep"]) == {1: 0, 2: 0, 3: 0}


def test_a_level_is_paged_exactly_in_member_id_order(database, shop):
    ids = build_chain(database, shop.id)
    tier1 = sorted(ids[f"d{n}"] for n in range(25))
    with database.read() as session:
        pages = [team.level_nodes(session, shop.id, ids["root"], 1, page, 10) for page in (1, 2, 3, 4)]
        shop_row = session.get(Shop, shop.id)
        tree = team.team_of(session, shop_row, ids["root"], NOW, pages={1: 3}, per_page=10)
    assert [[n.member_id for n in page] for page in pages] == [tier1[:10], tier1[10:20], tier1[20:], []]
    level1 = tree.pages[1]
    assert (level1.number, level1.total, level1.pages, level1.has_previous, level1.has_next) == (
        3,
        25,
        3,
        True,
        False,
    )
    assert [n.member_id for n in level1.nodes] == tier1[20:]
    assert tree.pages[2].number == 1 and len(tree.pages[2].nodes) == 5  # the other levels: page 1
    assert [n.member_id for n in tree.pages[3].nodes] == sorted([ids["d0-0-0"], ids["d0-0-1"]])


def test_nodes_carry_their_name_level_status_inviter_and_direct_invitees(database, shop):
    ids = build_chain(database, shop.id)
    with database.read() as session:
        tree = team.team_of(session, session.get(Shop, shop.id), ids["root"], NOW, per_page=50)
    assert (tree.root.name, tree.root.direct, tree.root.invite_code) == ("root", 25, "INV-ROOT")
    level1 = {n.name: n for n in tree.pages[1].nodes}
    assert (level1["d0"].direct, level1["d1"].direct, level1["d2"].direct) == (3, 2, 0)
    assert (level1["d0"].level, level1["d0"].status, level1["d0"].inviter_name) == ("B", "approved", "root")
    level2 = {n.name: n for n in tree.pages[2].nodes}
    assert (level2["d0-0"].direct, level2["d0-0"].inviter_name, level2["d1-1"].inviter_name) == (
        2,
        "d0",
        "d1",
    )
    level3 = {n.name: n for n in tree.pages[3].nodes}
    assert level3["d0-0-0"].direct == 1  # "deep" is below them, four levels below the root
    assert "deep" not in level3


def test_gmv_of_a_level_is_this_shop_local_months_paid_orders_of_its_members_net_of_refunds(database, shop):
    ids = build_chain(database, shop.id)
    in_month = datetime(2026, 11, 1, 0, 30, tzinfo=CST)  # still October in UTC
    with database.transaction() as session:
        paid_order(session, shop.id, "1", ids["d3"], in_month, 10000)
        paid_order(session, shop.id, "2", ids["d4"], NOW, 25000, refunded=5000)
        paid_order(
            session, shop.id, "3", ids["d3"], datetime(2026, 10, 31, 23, 59, tzinfo=CST), 70000
        )  # October
        paid_order(session, shop.id, "4", ids["d4"], datetime(2026, 12, 1, tzinfo=CST), 80000)  # December
        paid_order(session, shop.id, "5", ids["d1-0"], NOW, 3000)
        paid_order(session, shop.id, "6", ids["d0-0-1"], NOW, 700)
        paid_order(session, shop.id, "7", ids["deep"], NOW, 90000)  # four levels down
        paid_order(session, shop.id, "8", ids["root"], NOW, 60000)  # the root's own purchase
    with database.read() as session:
        tree = team.team_of(session, session.get(Shop, shop.id), ids["root"], NOW)
    assert tree.month == "2026-11"
    assert [(level.depth, level.members, level.gmv) for level in tree.levels] == [
        (1, 25, 10000 + 25000 - 5000),
        (2, 5, 3000),
        (3, 2, 700),
    ]


def test_month_bounds_are_the_shops_calendar_month_in_utc(database, shop):
    with database.read() as session:
        month, start, end = team.month_bounds(session.get(Shop, shop.id), NOW)
    assert month == "2026-11"
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_a_member_of_another_shop_or_who_is_no_distributor_has_no_team_here(database, shop, make_shop):
    ids = build_chain(database, shop.id, tier1=2)
    other = make_shop(name="Other")
    with database.read() as session:
        shop_row, other_row = session.get(Shop, shop.id), session.get(Shop, other.id)
        with pytest.raises(NotFound):
            team.team_of(session, other_row, ids["root"], NOW)
        with pytest.raises(NotFound):
            team.team_of(session, shop_row, ids["deep"], NOW)
        assert team.level_counts(session, other.id, ids["root"]) == {1: 0, 2: 0, 3: 0}


def test_search_finds_distributors_by_id_code_or_part_of_the_name(database, shop, make_shop):
    ids = build_chain(database, shop.id, tier1=12)
    other = make_shop(name="Other")
    with database.transaction() as session:
        person(session, other.id, "d10-elsewhere")
    with database.read() as session:
        by_id = team.find_distributors(session, shop.id, str(ids["d3"]))
        assert by_id[0].member_id == ids["d3"]  # the exact match first, then names holding the digits
        assert all(str(ids["d3"]) in n.name for n in by_id[1:])
        assert [n.member_id for n in team.find_distributors(session, shop.id, "inv-d4")] == [ids["d4"]]
        by_name = team.find_distributors(session, shop.id, "D1")
        assert sorted(n.name for n in by_name) == ["d1", "d1-0", "d1-1", "d10", "d11"]
        assert team.find_distributors(session, shop.id, str(ids["deep"])) == []  # no distributor
        assert team.find_distributors(session, shop.id, "%") == []  # a LIKE wildcard is a plain character
        assert team.find_distributors(session, shop.id, "  ") == []
        assert session.get(Member, ids["root"]).shop_id == shop.id
