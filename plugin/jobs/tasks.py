"""Job functions (RQ imports them by dotted path) and the periodic sweeps.

Arguments are ids; each job reads the database as the source of truth and is idempotent.
"""

from __future__ import annotations

import time

from plugin import runtime
from plugin.commissions import settlement
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.jobs.queues import EVENTS, PAYOUTS, SETTLEMENT
from plugin.platforms import connections
from plugin.reports import refresh
from plugin.withdrawals import connectors, flow

DRAIN_SECONDS = 20  # a drain job hands over to a fresh one after this long, so jobs stay short


def drain_inbox() -> int:
    """Apply every due inbox event, a batch per transaction, until none is left (or for
    ``DRAIN_SECONDS``, then wake a fresh drain). Returns how many events it claimed.

    It first takes the wake-up it was queued for, so a delivery stored while it runs wakes
    another drain: none is ever left waiting for the sweep.
    """
    rt = runtime.for_job()
    rt.queue.woken(EVENTS)
    total, deadline = 0, time.monotonic() + DRAIN_SECONDS
    apis = connections.api_factory(rt.config)
    while claimed := mailbox.drain(rt.database, apis=apis):
        total += claimed
        if time.monotonic() > deadline:
            wake_workers(rt)
            break
    return total


def wake_workers(rt: runtime.Runtime) -> bool:
    """Make sure a drain is queued for newly stored events (cheap when one already is). False if
    the queue is unreachable: the events are kept, and the inbox sweep drains them."""
    return rt.queue.wake(drain_inbox, queue_name=EVENTS)


def inbox_sweep() -> int:
    """Drain what no wake-up reached (Redis was down) and the failed events whose retry is due."""
    return drain_inbox()


def settlement_sweep() -> int:
    return settlement.settle_due(runtime.for_job().database, utcnow())


def figures_sweep() -> int:
    """Recompute the dashboard's day figures of every day touched since the last run."""
    return refresh.sweep(runtime.for_job().database)


def advance_withdrawal(withdrawal_id: int) -> str:
    """Take a withdrawal as far as it goes without a person (verify, auto-approve, pay)."""
    rt = runtime.for_job()
    return flow.advance(rt.database, connectors.outside_for(rt.config), withdrawal_id)


def move_withdrawal_on(rt: runtime.Runtime, withdrawal_id: int, step: str) -> bool:
    """Queue ``advance_withdrawal`` after a commit that let it move on (``step`` names which, so
    each step's job id is its own); False if the queue is down: the payout sweep moves it."""
    job_id = f"withdrawal-{withdrawal_id}-{step}"
    return rt.queue.enqueue(advance_withdrawal, withdrawal_id, job_id=job_id, queue_name=PAYOUTS)


def payout_sweep() -> int:
    """Verify, pay and ask about whatever no job reached (a lost job, an unclear answer)."""
    rt = runtime.for_job()
    return flow.sweep(rt.database, connectors.outside_for(rt.config))


# (function, queue, seconds between runs): registered with RQ's cron scheduler by
# ``fenxiao worker`` and run on a timer by the embedded default.
SWEEPS = (
    (inbox_sweep, EVENTS, 30),
    (settlement_sweep, SETTLEMENT, 300),
    (figures_sweep, SETTLEMENT, 60),
    (payout_sweep, PAYOUTS, 60),
)
