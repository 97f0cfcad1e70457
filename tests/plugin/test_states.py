"""Every status changes through a transition table and one function; anything else is refused."""

from __future__ import annotations

import enum
from itertools import product
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from plugin.commissions import lifecycle as commission_states
from plugin.commissions import settlement
from plugin.commissions.models import Commission, CommissionStatus
from plugin.errors import InvalidTransition
from plugin.inbox import mailbox
from plugin.inbox.models import InboxStatus
from plugin.ledger.models import LedgerTransaction
from plugin.orders import lifecycle as order_states
from plugin.orders.models import OrderStatus
from plugin.shops.models import Shop
from plugin.states import StateMachine
from tests.plugin.test_settlement import LATER, completed_orders

MACHINES = [
    (commission_states.MACHINE, CommissionStatus),
    (order_states.MACHINE, OrderStatus),
    (mailbox.MACHINE, InboxStatus),
]


@pytest.mark.parametrize(("machine", "states"), MACHINES, ids=lambda m: getattr(m, "subject", ""))
def test_a_move_happens_exactly_when_the_table_lists_it(machine, states):
    for current, target in product(states, states):
        row = SimpleNamespace(status=current.value)
        if target in machine.transitions[current]:
            assert machine.move(row, target) == current
            assert row.status == target
        else:
            with pytest.raises(InvalidTransition) as refused:
                machine.move(row, target)
            assert refused.value.code == "invalid_transition"
            assert refused.value.field == "status"
            assert refused.value.message == f"a {machine.subject} cannot move from {current} to {target}"
            assert row.status == current.value


def test_the_commission_table():
    C = CommissionStatus
    assert commission_states.TRANSITIONS == {
        C.PENDING: (C.AVAILABLE, C.HELD, C.CANCELLED),
        C.HELD: (C.PENDING, C.CANCELLED),
        C.AVAILABLE: (C.WITHDRAWN, C.CLAWED_BACK),
        C.WITHDRAWN: (C.CLAWED_BACK,),
        C.CANCELLED: (),
        C.CLAWED_BACK: (),
    }
    assert set(commission_states.OPEN) == {C.PENDING, C.HELD, C.AVAILABLE, C.WITHDRAWN}


def test_a_table_must_say_where_every_state_leads():
    class Light(enum.StrEnum):
        RED = "red"
        GREEN = "green"

    with pytest.raises(ValueError, match="no transitions listed for"):
        StateMachine("light", {Light.RED: (Light.GREEN,)})
    lights = StateMachine("light", {Light.RED: (Light.GREEN,), Light.GREEN: (Light.RED,)})
    assert lights.path(Light.RED, Light.RED) == []
    assert lights.path(Light.RED, Light.GREEN) == [Light.GREEN]
    row = SimpleNamespace(status="red")
    assert lights.move(row, Light.GREEN) == Light.RED
    assert row.status == Light.GREEN
    with pytest.raises(InvalidTransition, match="^a light cannot move from green to green$"):
        lights.move(row, Light.GREEN)


def test_the_order_path_goes_through_every_step():
    S = OrderStatus
    assert order_states.MACHINE.path(S.CREATED, S.REFUNDED) == [S.PAID, S.REFUNDED]
    assert order_states.MACHINE.path(S.CREATED, S.COMPLETED) == [S.PAID, S.COMPLETED]
    assert order_states.MACHINE.path(S.COMPLETED, S.PAID) == []  # never backwards
    # a closed order reopens only to paid (a paid snapshot after a status-only close), never further
    assert order_states.MACHINE.path(S.CLOSED, S.PAID) == [S.PAID]
    assert order_states.MACHINE.path(S.REFUNDED, S.PAID) == []


def test_settling_a_commission_that_is_not_pending_is_refused_and_posts_nothing(make_shop, database, send):
    shop, _ = completed_orders(make_shop, database, send, [10000])
    with database.transaction() as session:
        commission = session.scalar(select(Commission))
        commission.status = CommissionStatus.CANCELLED
    refused = pytest.raises(InvalidTransition, match="a commission cannot move from cancelled to available")
    with refused, database.transaction() as session:
        commission = session.get(Commission, commission.id)
        settlement.settle(session, session.get(Shop, shop.id), commission)
    with database.transaction() as session:
        assert session.scalar(select(Commission.status)) == CommissionStatus.CANCELLED
        settles = (
            select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "settle")
        )
        assert session.scalar(settles) == 0
    assert settlement.count_due(database, LATER) == 0
