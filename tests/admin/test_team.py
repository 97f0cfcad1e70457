"""Team Structure: search a distributor, their downline to depth 3 with counts and this month's
GMV per level, each level paged exactly, a bounded number of SQL statements however big the team."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from admin.views import team as team_view
from plugin.db import utcnow
from tests.admin.conftest import post
from tests.plugin.test_team import build_chain, paid_order, person

ROLES = ("viewer", "operator", "finance", "admin")


@pytest.fixture
def chain(database, shop):
    """root with 25 at level 1 (d0…d24), 5 at level 2, 2 at level 3, 1 four levels down."""
    return build_chain(database, shop.id)


def nodes_of_level(html: str, depth: int) -> list[int]:
    """The member ids listed under level ``depth``'s details, in page order."""
    section = html.split(f'id="level-{depth}"', 1)[1].split("</details>", 1)[0]
    return [int(n) for n in re.findall(r"ID (\d+)</span>", section)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_tab_and_a_team(as_role, chain, role):
    client = as_role(role)
    blank = client.get("/admin/team/")
    assert blank.status_code == 200 and 'name="q"' in blank.get_data(as_text=True)
    reply = client.get(f"/admin/team/?member={chain['root']}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "Team of root" in html and "<details" in html and "<summary>" in html


def test_counts_per_level_and_this_months_gmv(as_role, chain, database, shop):
    now = utcnow()
    with database.transaction() as session:
        paid_order(session, shop.id, "1", chain["d3"], now, 12345)
        paid_order(session, shop.id, "2", chain["d4"], now, 20000, refunded=5000)
        paid_order(session, shop.id, "3", chain["d1-0"], now, 777)
        paid_order(session, shop.id, "4", chain["deep"], now, 99999)  # four levels down: not in the tree
    page = text_of(as_role("viewer").get(f"/admin/team/?member={chain['root']}").get_data(as_text=True))
    assert "Level 1 25 ¥273.45" in page  # 123.45 + 200.00 - 50.00
    assert "Level 2 5 ¥7.77" in page
    assert "Level 3 2 ¥0.00" in page
    assert "All levels 32 ¥281.22" in page
    assert "Level 1 members: 25 · GMV this month: ¥273.45" in page
    assert "root Level B · approved · direct invitees: 25" in page


def test_each_level_is_paged_on_its_own_exactly(as_role, chain):
    client = as_role("viewer")
    tier1 = sorted(chain[f"d{n}"] for n in range(25))
    first = client.get(f"/admin/team/?member={chain['root']}").get_data(as_text=True)
    assert nodes_of_level(first, 1) == tier1[: team_view.PER_PAGE]
    assert sorted(nodes_of_level(first, 2)) == sorted(
        chain[k] for k in ("d0-0", "d0-1", "d0-2", "d1-0", "d1-1")
    )
    assert f'href="/admin/team/?page=2&amp;member={chain["root"]}&amp;level=1#level-1"' in first
    second = client.get(f"/admin/team/?member={chain['root']}&level=1&page=2").get_data(as_text=True)
    assert nodes_of_level(second, 1) == tier1[team_view.PER_PAGE :]
    assert '<details id="level-1" open>' in second
    assert len(nodes_of_level(second, 2)) == 5  # the other levels stay on their first page
    beyond = client.get(f"/admin/team/?member={chain['root']}&level=1&page=3").get_data(as_text=True)
    assert nodes_of_level(beyond, 1) == [] and "No one on this page." in beyond


def test_a_node_shows_its_level_status_inviter_and_direct_invitees(as_role, chain):
    page = text_of(as_role("viewer").get(f"/admin/team/?member={chain['root']}").get_data(as_text=True))
    assert f"d0 Level B approved ID {chain['d0']} direct invitees: 3" in page
    assert f"d0-0 Level B approved ID {chain['d0-0']} direct invitees: 2 invited by d0" in page
    assert f"d0-0-0 Level B approved ID {chain['d0-0-0']} direct invitees: 1 invited by d0-0" in page


def test_search_by_name_code_or_id_and_one_match_opens_the_team(as_role, chain):
    client = as_role("viewer")
    several = client.get("/admin/team/?q=d0-0").get_data(as_text=True)
    assert "Distributors found" in several and "Team of" not in several
    found = {int(n) for n in re.findall(r'href="/admin/team/\?member=(\d+)"', several)}
    assert found == {chain["d0-0"], chain["d0-0-0"], chain["d0-0-1"]}
    by_code = client.get("/admin/team/?q=inv-d0-0-1").get_data(as_text=True)
    assert "Team of d0-0-1" in by_code
    by_id = client.get(f"/admin/team/?q={chain['d7']}").get_data(as_text=True)
    assert f'href="/admin/team/?member={chain["d7"]}"' in by_id
    nobody = client.get("/admin/team/?q=nobody-here").get_data(as_text=True)
    assert "No distributor matches" in nobody


def test_another_shops_distributor_is_a_404_and_never_found(as_role, chain, database, other_shop):
    with database.transaction() as session:
        stranger = person(session, other_shop.id, "stranger")
    client = as_role("admin")
    assert client.get(f"/admin/team/?member={stranger}").status_code == 404
    assert client.get(f"/admin/team/?member={chain['deep']}").status_code == 404  # no distributor
    assert "No distributor matches" in client.get("/admin/team/?q=stranger").get_data(as_text=True)
    theirs = as_role("admin", shop_id=other_shop.id)
    assert theirs.get(f"/admin/team/?member={chain['root']}").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [("member=abc", "member"), ("member=1&level=4", "level"), ("member=1&level=1&page=0", "page")],
)
def test_bad_parameters_are_a_400_page_naming_the_field(as_role, chain, query, field):
    reply = as_role("viewer").get(f"/admin/team/?{query}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert 'role="alert"' in html and "Team of" not in html
    assert {"member": "Member id", "level": "Level below", "page": "Page"}[field] + ":" in html


def test_a_search_too_long_is_refused_on_its_field(as_role, chain):
    reply = as_role("viewer").get("/admin/team/?q=" + "x" * 101)
    assert reply.status_code == 400
    assert 'id="q-errors"' in reply.get_data(as_text=True)


def test_the_tab_only_reads_a_post_is_refused_with_or_without_the_token(as_role, chain):
    """The tab has no form that writes (so no CSRF-protected view of its own): any POST is 405."""
    client = as_role("admin")
    assert client.post("/admin/team/", data={"q": "root"}).status_code == 405
    assert post(client, "/admin/team/", {"q": "root"}, token_from="/admin/team/").status_code == 405


def test_a_team_page_runs_the_same_few_statements_however_big_the_team(as_role, chain, database, shop):
    with database.transaction() as session:
        small = person(session, shop.id, "small")  # one member at each level below
        person(session, shop.id, "child", under="INV-SMALL")
        person(session, shop.id, "grandchild", under="INV-CHILD")
        person(session, shop.id, "great-grandchild", under="INV-GRANDCHILD")
    client = as_role("viewer")
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def statements_for(path: str) -> int:
        client.get(path)  # warm: the user and shop are read the same way on every page
        statements.clear()
        assert client.get(path).status_code == 200
        return len(statements)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        few = statements_for(f"/admin/team/?member={small}")
        many = statements_for(f"/admin/team/?member={chain['root']}")
        paged = statements_for(f"/admin/team/?member={chain['root']}&level=1&page=2")
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert few == many == paged
    assert many <= 12
