"""Job functions (RQ imports them by dotted path) and the periodic sweeps.

Arguments are ids; each job reads the database as the source of truth and is idempotent.
"""

from __future__ import annotations

import time

from plugin import runtime
from plugin.commissions import settlement
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.jobs.queues import EVENTS, SETTLEMENT
from plugin.platforms import connections
from plugin.reports import refresh

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


# (function, queue, seconds between runs): registered with RQ's cron scheduler by
# ``fenxiao worker`` and run on a timer by the embedded default.
SWEEPS = ((inbox_sweep, EVENTS, 30), (settlement_sweep, SETTLEMENT, 300), (figures_sweep, SETTLEMENT, 60))
