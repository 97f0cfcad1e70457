"""Job functions (RQ imports them by dotted path) and the periodic sweeps.

Arguments are ids; each job reads the database as the source of truth and is idempotent.
"""

from __future__ import annotations

from plugin import runtime
from plugin.commissions import settlement
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.jobs.queues import EVENTS, SETTLEMENT


def process_inbox_event(event_id: int) -> str:
    return mailbox.process(runtime.for_job().database, event_id)


def enqueue_inbox_event(rt: runtime.Runtime, event_id: int) -> bool:
    """Queue an event's processing; if the queue is unreachable, make it due for the next sweep."""
    if rt.queue.enqueue(process_inbox_event, event_id, job_id=f"inbox-{event_id}", queue_name=EVENTS):
        return True
    mailbox.due_now(rt.database, event_id)
    return False


def inbox_sweep() -> int:
    """Re-enqueue events whose job was lost (Redis down, worker killed) or whose retry is due."""
    rt = runtime.for_job()
    ids = mailbox.due_for_retry(rt.database, utcnow())
    for event_id in ids:
        enqueue_inbox_event(rt, event_id)
    return len(ids)


def settlement_sweep() -> int:
    return settlement.settle_due(runtime.for_job().database, utcnow())


# (function, queue, seconds between runs): registered with RQ's cron scheduler by
# ``fenxiao worker`` and run on a timer by the embedded default.
SWEEPS = ((inbox_sweep, EVENTS, 30), (settlement_sweep, SETTLEMENT, 300))
