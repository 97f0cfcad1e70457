"""Invite bindings: first wins, no self-binding, no cycles, ancestors precomputed, audited."""

import pytest
from sqlalchemy import func, select

from plugin import bindings, members
from plugin.errors import BindingRefused
from plugin.models import AuditEvent, Binding


@pytest.fixture
def people(database, shop):
    """Five members; A..D are distributors with codes CODE-A..CODE-D."""
    with database.transaction() as session:
        ids = {}
        for name in "ABCDE":
            ids[name] = members.member_for_identity(session, shop.id, "shopify", f"cust-{name}").id
            if name != "E":
                members.make_distributor(session, shop.id, ids[name], invite_code=f"CODE-{name}")
    return ids


def bind(database, shop, member_id, code):
    with database.transaction() as session:
        binding = bindings.bind(session, shop.id, member_id, code)
        return binding.tier1_id, binding.tier2_id, binding.tier3_id


def test_ancestors_are_precomputed_three_deep(database, shop, people):
    p = people
    bind(database, shop, p["B"], "CODE-A")
    bind(database, shop, p["C"], "CODE-B")
    bind(database, shop, p["D"], "CODE-C")
    assert bind(database, shop, p["E"], "CODE-D") == (p["D"], p["C"], p["B"])


def test_first_binding_wins(database, shop, people):
    p = people
    assert bind(database, shop, p["E"], "CODE-A") == (p["A"], None, None)
    assert bind(database, shop, p["E"], "CODE-B") == (p["A"], None, None)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Binding)) == 1


def test_self_binding_is_refused(database, shop, people):
    with pytest.raises(BindingRefused, match="own invite code"):
        bind(database, shop, people["A"], "CODE-A")
    with database.transaction() as session:
        assert session.get(Binding, people["A"]) is None


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_cycles_are_refused_at_any_depth(database, shop, database_url, depth):
    with database.transaction() as session:
        chain = []
        for index in range(depth + 1):
            member = members.member_for_identity(session, shop.id, "shopify", f"m{index}")
            members.make_distributor(session, shop.id, member.id, invite_code=f"CODE-{index}")
            if chain:
                bindings.bind(session, shop.id, member.id, f"CODE-{index - 1}")
            chain.append(member.id)
    with pytest.raises(BindingRefused, match="cycle"):
        bind(database, shop, chain[0], f"CODE-{depth}")
    with database.transaction() as session:
        assert session.get(Binding, chain[0]) is None


def test_unknown_code_and_suspended_inviter_are_refused(database, shop, people):
    with pytest.raises(BindingRefused):
        bind(database, shop, people["E"], "NO-SUCH-CODE")
    with database.transaction() as session:
        members.is_earning(session, people["A"]).status = "suspended"
    with pytest.raises(BindingRefused):
        bind(database, shop, people["E"], "CODE-A")


def test_binding_is_audited(database, shop, people):
    bind(database, shop, people["E"], "CODE-A")
    with database.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "binding.created"))
        assert (event.subject_id, event.data["inviter_id"], event.data["source"]) == (
            str(people["E"]),
            people["A"],
            "invite_code",
        )


def test_codes_of_another_shop_do_not_bind(database, make_shop, people, shop):
    other = make_shop()
    with database.transaction() as session:
        stranger = members.member_for_identity(session, other.id, "shopify", "cust-X").id
    with pytest.raises(BindingRefused):
        bind(database, other, stranger, "CODE-A")
