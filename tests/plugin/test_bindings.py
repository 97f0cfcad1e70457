"""Invite bindings: first wins, no self-binding, no cycles, ancestors precomputed, audited."""

import pytest
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.errors import BindingRefused
from plugin.members import bindings, directory
from plugin.members.models import Binding


@pytest.fixture
def people(database, shop):
    """Five members; A..D are distributors with codes CODE-A..CODE-D."""
    with database.transaction() as session:
        ids = {}
        for name in "ABCDE":
            ids[name] = directory.member_for_identity(session, shop.id, "shopify", f"cust-{name}").id
            if name != "E":
                directory.make_distributor(session, shop.id, ids[name], invite_code=f"CODE-{name}")
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
            member = directory.member_for_identity(session, shop.id, "shopify", f"m{index}")
            directory.make_distributor(session, shop.id, member.id, invite_code=f"CODE-{index}")
            if chain:
                bindings.bind(session, shop.id, member.id, f"CODE-{index - 1}")
            chain.append(member.id)
    with pytest.raises(BindingRefused, match="cycle"):
        bind(database, shop, chain[0], f"CODE-{depth}")
    with database.transaction() as session:
        assert session.get(Binding, chain[0]) is None


def test_a_member_with_invitees_binds_under_anyone_outside_their_own_team(database, shop, people):
    """A binding's ancestors are those of the moment it is made: binding the inviter later does
    not rewrite the chains of the members already under them (bindings are never rewritten)."""
    with database.transaction() as session:
        stranger = directory.member_for_identity(session, shop.id, "shopify", "stranger")
        directory.make_distributor(session, shop.id, stranger.id, invite_code="CODE-S")
        under_d = directory.member_for_identity(session, shop.id, "shopify", "under-d")
        bindings.bind(session, shop.id, under_d.id, "CODE-D")
    assert bind(database, shop, people["D"], "CODE-S") == (stranger.id, None, None)
    with database.transaction() as session:
        below = session.get(Binding, under_d.id)
        assert (below.tier1_id, below.tier2_id, below.tier3_id) == (people["D"], None, None)


def test_unknown_code_and_suspended_inviter_are_refused(database, shop, people):
    with pytest.raises(BindingRefused):
        bind(database, shop, people["E"], "NO-SUCH-CODE")
    with database.transaction() as session:
        directory.is_earning(session, people["A"]).status = "suspended"
    with pytest.raises(BindingRefused):
        bind(database, shop, people["E"], "CODE-A")


def test_binding_is_audited_with_who_how_and_the_ancestors(database, shop, people):
    p = people
    bind(database, shop, p["B"], "CODE-A")
    with database.transaction() as session:
        bindings.bind(session, shop.id, p["E"], "CODE-B", source="qr", source_ref="poster-7", actor="api")
    with database.transaction() as session:
        events = [
            (e.action, e.subject_type, e.subject_id, e.actor, e.data)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "binding.created").order_by(AuditEvent.id)
            )
        ]
        stored = session.get(Binding, p["E"])
        assert (stored.source, stored.source_ref, session.get(Binding, p["B"]).source_ref) == (
            "qr",
            "poster-7",
            "",
        )
    assert events == [
        (
            "binding.created",
            "member",
            str(p["B"]),
            "system",
            {
                "inviter_id": p["A"],
                "source": "invite_code",
                "source_ref": "",
                "ancestors": [p["A"], None, None],
            },
        ),
        (
            "binding.created",
            "member",
            str(p["E"]),
            "api",
            {
                "inviter_id": p["B"],
                "source": "qr",
                "source_ref": "poster-7",
                "ancestors": [p["B"], p["A"], None],
            },
        ),
    ]


@pytest.mark.parametrize(
    ("member", "code", "source", "message", "field"),
    [
        ("E", "CODE-A", "carrier-pigeon", "unknown binding source 'carrier-pigeon'", "source"),
        (
            "E",
            "NO-SUCH-CODE",
            "invite_code",
            "invite code 'NO-SUCH-CODE' does not belong to an active distributor",
            "invite_code",
        ),
        ("A", "CODE-A", "invite_code", "a member cannot bind to their own invite code", "invite_code"),
        ("A", "CODE-B", "invite_code", "binding would create a cycle in the invite tree", "invite_code"),
    ],
)
def test_each_refusal_says_why_and_names_the_field(
    database, shop, people, member, code, source, message, field
):
    bind(database, shop, people["B"], "CODE-A")
    with pytest.raises(BindingRefused) as info, database.transaction() as session:
        bindings.bind(session, shop.id, people[member], code, source=source)
    assert (info.value.message, info.value.field) == (message, field)


def test_a_member_already_bound_keeps_the_first_binding_without_a_second_audit(database, shop, people):
    p = people
    bind(database, shop, p["E"], "CODE-A")
    with database.transaction() as session:
        kept = bindings.bind(session, shop.id, p["E"], "CODE-B")
        assert (kept.member_id, kept.tier1_id) == (p["E"], p["A"])
    with database.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "binding.created")
            )
            == 1
        )


def test_codes_of_another_shop_do_not_bind(database, make_shop, people, shop):
    other = make_shop()
    with database.transaction() as session:
        stranger = directory.member_for_identity(session, other.id, "shopify", "cust-X").id
    with pytest.raises(BindingRefused):
        bind(database, other, stranger, "CODE-A")


def test_opposite_bindings_made_at_the_same_moment_never_form_a_cycle(database, shop, people):
    """x under y and y under x at once: exactly one succeeds (the other waits, then sees it)."""
    import threading

    x, y = people["A"], people["B"]
    first_bound, release = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with database.transaction() as session:
            bindings.bind(session, shop.id, x, "CODE-B")
            first_bound.set()
            release.wait(10)  # committed only once the second bind has started

    def second():
        first_bound.wait(10)
        try:
            with database.transaction() as session:
                bindings.bind(session, shop.id, y, "CODE-A")
            outcome["second"] = "bound"
        except BindingRefused as refused:
            outcome["second"] = refused.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_bound.wait(10)
    threads[1].join(1)  # the second bind must wait for the first's locks
    waited = threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(10)
    assert waited, "the opposite binding did not wait for the first one"
    assert outcome == {"second": "binding would create a cycle in the invite tree"}
    with database.transaction() as session:
        rows = session.execute(select(Binding.member_id, Binding.tier1_id)).all()
    assert rows == [(x, y)]


def test_many_bindings_closing_a_three_cycle_at_once_leave_no_cycle(database, shop, people):
    """a under b, b under c, c under a, each at once from its own worker, ten times over."""
    import threading

    for round_ in range(10):
        with database.transaction() as session:
            ids = []
            for name in "abc":
                member = directory.member_for_identity(session, shop.id, "shopify", f"{name}-{round_}")
                directory.make_distributor(
                    session, shop.id, member.id, invite_code=f"{name.upper()}{round_}-CODE"
                )
                ids.append(member.id)
        barrier = threading.Barrier(3)
        results = []

        def attempt(member_id, code):
            barrier.wait()
            try:
                with database.transaction() as session:
                    bindings.bind(session, shop.id, member_id, code)
                results.append("bound")
            except BindingRefused:
                results.append("refused")

        pairs = [(ids[0], f"B{round_}-CODE"), (ids[1], f"C{round_}-CODE"), (ids[2], f"A{round_}-CODE")]
        threads = [threading.Thread(target=attempt, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert sorted(results) == ["bound", "bound", "refused"]
        with database.transaction() as session:
            inviter = dict(
                session.execute(
                    select(Binding.member_id, Binding.tier1_id).where(Binding.member_id.in_(ids))
                ).all()
            )
        for start in ids:  # walking up from anyone ends at a top, never back at the start
            seen, current = set(), start
            while current in inviter:
                assert current not in seen, f"cycle through {current}"
                seen.add(current)
                current = inviter[current]
