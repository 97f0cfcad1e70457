"""The commission state machine and the queries every commission step starts from.

::

    pending ──settle──▶ available ──withdraw──▶ withdrawn
       │ ▲                  │                       │
     hold│ │release      refund (whole)          refund (whole)
       ▼ │                  ▼                       ▼
      held              clawed_back ◀───────────────┘
       │
    pending/held ──refund (whole)──▶ cancelled

``held`` (a risk review holds a pending commission) and ``withdrawn`` (its money was paid out)
are entered by the risk and withdrawal steps; a partial refund leaves the status as it is and
only raises ``reversed``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.commissions.models import Commission, CommissionStatus
from plugin.states import StateMachine

C = CommissionStatus
TRANSITIONS: dict[CommissionStatus, tuple[CommissionStatus, ...]] = {
    C.PENDING: (C.AVAILABLE, C.HELD, C.CANCELLED),
    C.HELD: (C.PENDING, C.CANCELLED),
    C.AVAILABLE: (C.WITHDRAWN, C.CLAWED_BACK),
    C.WITHDRAWN: (C.CLAWED_BACK,),
    C.CANCELLED: (),
    C.CLAWED_BACK: (),
}
MACHINE = StateMachine("commission", TRANSITIONS)
NOT_SETTLED = (C.PENDING, C.HELD)  # the money sits in the beneficiary's pending account
SETTLED = (C.AVAILABLE, C.WITHDRAWN)  # the money reached available (and maybe left it)
OPEN = NOT_SETTLED + SETTLED  # refunds still take something back


def move(commission: Commission, target: CommissionStatus) -> CommissionStatus:
    """The one way a commission's status changes; ``InvalidTransition`` for a move not in the table."""
    return MACHINE.move(commission, target)


def commissions_of(session: Session, order_id: int, *, lock: bool = False) -> list[Commission]:
    query = select(Commission).where(Commission.order_id == order_id).order_by(Commission.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))
