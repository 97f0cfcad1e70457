"""Replaying a shop's stored deliveries, and showing what one delivery became.

``replay_since`` walks the shop's events received in ``[since, until)`` in id order, a page of
ids at a time (keyset on the id, so a replay of millions of events holds one page in memory):

* a processed event is normalized again from its stored raw body and applied again through the
  worker's own domain functions (``lifecycle.apply_snapshot`` / ``apply_status`` /
  ``apply_refund``), consecutive ones a batch per transaction (``orders.batch.prepare`` first, as
  a drain does). Its inbox row is not touched: it stays processed with its attempts and time.
  Applying a delivery again is a reconciliation that changes nothing already applied, so the
  ledger, the commissions and the balances come out identical; what a replay can repair is a
  delivery whose effect was lost (say, a row restored from an old backup).
* a failed or dead event is put back in line and processed now (``mailbox.replay``).
* an ignored event is skipped, a received one is left to the workers; both are counted.

An event that fails during the replay is reported with its error and the run goes on: a batch
that fails is applied again one event per transaction so that only the failing one is lost.
The run is audited once (``inbox.replayed`` on the shop) with its window and counts.

``plugin.inbox.show`` reads one event (signature headers redacted), its body, its document in the
common schema (normalized again for adapters that normalize without calling the platform), and
the order it touched with its commissions and the ledger transactions posted for them
(``accrue:<commission>``, ``settle:<commission>``, ``reverse:<commission>:<total>``: the keys
``plugin.commissions`` posts under).

Relied on: the signature headers redacted by name (any name holding ``hmac``, ``sign``, ``token``,
``secret``, ``authorization``, ``cookie``) cover Shopify's ``X-Shopify-Hmac-Sha256`` [V] and
Youzan's ``Event-Sign`` [S] (shared/fixtures/README.md); Weimob and Youzan also sign in the body
(``sign``), which is shown as stored: a signature proves a body, it is no secret.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters import schema
from plugin.audit import trail
from plugin.db import Database
from plugin.errors import InvalidSetting
from plugin.inbox import fetching, mailbox
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.orders import batch, lifecycle
from plugin.orders.models import Order
from plugin.platforms.connections import ApiFactory
from plugin.shops import tenants
from plugin.shops.models import Shop

log = logging.getLogger(__name__)

REAPPLIED = "reapplied"  # processed: applied again, inbox row untouched
REPLAYED = "replayed"  # failed or dead: put back in line and processed now
SKIPPED = "skipped"  # processed, but its document now applies nothing (an adapter or shop change)
IGNORED = "ignored"  # stored as ignored (or a replayed one the adapter now ignores): not acted on
RECEIVED = "received"  # not processed yet: left to the workers
FAILED = "failed"  # the replay of this event failed (see ``ReplayReport.failures``)
OUTCOMES = (REAPPLIED, REPLAYED, SKIPPED, IGNORED, RECEIVED, FAILED)
PAGE = 1000  # event ids read per query; the work itself goes in ``mailbox.BATCH`` sized transactions
# Header names whose values prove a delivery (signatures, tokens): never printed.


@dataclass
class ReplayReport:
    """What a replay did: events per outcome, and the events it could not replay with their error."""

    shop_id: int
    since: datetime
    until: datetime | None
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {
            "shop_id": self.shop_id,
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "counts": {outcome: self.counts[outcome] for outcome in OUTCOMES},
            "failures": [{"event_id": event_id, "error": error} for event_id, error in self.failures],
        }


def as_utc(moment: datetime | date) -> datetime:
    """A date is its midnight, a time without an offset is UTC."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window(since, until) -> tuple[datetime, datetime | None]:
    since, until = as_utc(since), as_utc(until) if until is not None else None
    if until is not None and until <= since:
        raise InvalidSetting(
            f"since ({since.isoformat()}) must be before until ({until.isoformat()})", "since"
        )
    return since, until


def _in_window(shop_id: int, since: datetime, until: datetime | None) -> list:
    where = [InboxEvent.shop_id == shop_id, InboxEvent.received_at >= since]
    if until is not None:
        where.append(InboxEvent.received_at < until)
    return where


def count_events(database: Database, shop_id: int, since, until=None) -> int:
    """How many of the shop's events were received in ``[since, until)`` (a progress bar's total)."""
    since, until = _window(since, until)
    with database.read() as session:
        return session.scalar(
            select(func.count()).select_from(InboxEvent).where(*_in_window(shop_id, since, until))
        )


def replay_since(
    database: Database,
    shop_id: int,
    since,
    *,
    until=None,
    apis: ApiFactory | None = None,
    progress: Callable[[int], object] | None = None,
    actor: str = trail.SYSTEM,
) -> ReplayReport:
    """Re-process the shop's events received in ``[since, until)`` (see the module docstring).

    Args:
        since, until: datetimes (or dates); one without an offset is UTC. ``until`` None: now.
        apis: builds the platform clients of adapters that fetch (Weimob); ``api_factory(config)``.
        progress: called with the number of events just handled, as the run goes.
        actor: who asked, for the audit event.

    Raises:
        NotFound: no such shop. InvalidSetting: ``until`` is not after ``since``.
    """
    since, until = _window(since, until)
    with database.read() as session:
        tenants.get_shop(session, shop_id)
    report = ReplayReport(shop_id, since, until)
    size = mailbox.BATCH[database.dialect]
    after = 0
    while page := _page(database, shop_id, since, until, after):
        after = page[-1][0]
        group: list[int] = []
        for event_id, status in page:
            if status == InboxStatus.PROCESSED:
                group.append(event_id)
                if len(group) >= size:
                    _reapply_group(database, shop_id, group, apis, report, progress)
                    group = []
                continue
            _reapply_group(database, shop_id, group, apis, report, progress)  # keep the id order
            group = []
            if status in (InboxStatus.FAILED, InboxStatus.DEAD):
                _replay_one(database, event_id, apis, report)
            else:
                report.counts[IGNORED if status == InboxStatus.IGNORED else RECEIVED] += 1
            if progress:
                progress(1)
        _reapply_group(database, shop_id, group, apis, report, progress)
    with database.transaction() as session:
        trail.record(
            session,
            shop_id,
            "inbox.replayed",
            "shop",
            shop_id,
            actor=actor,
            since=since.isoformat(),
            until=until.isoformat() if until else None,
            **{outcome: report.counts[outcome] for outcome in OUTCOMES},
            failed_events=[event_id for event_id, _ in report.failures[:100]],
        )
    log.info("replayed shop %s since %s: %s", shop_id, since.isoformat(), dict(report.counts))
    return report


def _page(database: Database, shop_id: int, since, until, after: int) -> list[tuple[int, str]]:
    with database.read() as session:
        rows = session.execute(
            select(InboxEvent.id, InboxEvent.status)
            .where(*_in_window(shop_id, since, until), InboxEvent.id > after)
            .order_by(InboxEvent.id)
            .limit(PAGE)
        )
        return [(event_id, status) for event_id, status in rows]


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _reapply_group(
    database: Database,
    shop_id: int,
    event_ids: list[int],
    apis: ApiFactory | None,
    report: ReplayReport,
    progress: Callable[[int], object] | None,
) -> None:
    """Apply processed events again, in one transaction; if it fails, one per transaction."""
    if not event_ids:
        return
    try:
        outcomes = _reapply(database, shop_id, event_ids, apis)
    except Exception as exc:  # noqa: BLE001 - reported per event below, the run goes on
        if len(event_ids) == 1:
            log.exception("replay of inbox event %s failed", event_ids[0])
            outcomes = {event_ids[0]: exc}
        else:
            log.warning("replaying %d events together failed (%s); one by one", len(event_ids), exc)
            outcomes = {}
            for event_id in event_ids:
                try:
                    outcomes.update(_reapply(database, shop_id, [event_id], apis))
                except Exception as single:  # noqa: BLE001
                    log.exception("replay of inbox event %s failed", event_id)
                    outcomes[event_id] = single
    for event_id in event_ids:
        outcome = outcomes.get(event_id, SKIPPED)
        if isinstance(outcome, BaseException):
            report.counts[FAILED] += 1
            report.failures.append((event_id, error_text(outcome)))
        else:
            report.counts[outcome] += 1
    if progress:
        progress(len(event_ids))


def _reapply(
    database: Database, shop_id: int, event_ids: Sequence[int], apis: ApiFactory | None
) -> dict[int, str | Exception]:
    """One transaction: normalize the events again and apply what they say, inbox rows untouched.

    An event that cannot be normalized (unreadable now, or its platform did not answer) is a
    failure of that event alone; a failure while applying aborts the transaction (the caller
    then goes one event at a time). The platform calls of adapters that fetch are made first,
    outside the transaction, as the worker makes them (``fetching``)."""
    outcomes: dict[int, str | Exception] = {}
    fetched = _fetch(database, event_ids, apis)
    with database.transaction() as session:
        shop = session.get(Shop, shop_id)
        events = session.scalars(
            select(InboxEvent).where(InboxEvent.id.in_(event_ids)).order_by(InboxEvent.id)
        )
        ready = []
        for event in events:
            try:
                document = mailbox._document(session, event, shop, apis, fetched)
            except Exception as exc:  # noqa: BLE001 - this event fails, the others go on
                log.warning("replay of inbox event %s: %s", event.id, exc)
                outcomes[event.id] = exc
                continue
            if document is None or lifecycle.ignore_reason(shop, document) is not None:
                outcomes[event.id] = SKIPPED
                continue
            ready.append((event.id, document))
        batch.prepare(session, shop, [document for _, document in ready])
        for event_id, document in ready:
            apply_document(session, shop, document)
            outcomes[event_id] = REAPPLIED
    return outcomes


def _fetch(database: Database, event_ids: Sequence[int], apis: ApiFactory | None) -> fetching.Fetched:
    """The documents of those events whose platform fetches them, fetched now."""
    platforms = fetching.fetching_platforms()
    if not platforms:
        return {}
    with database.read() as session:
        ids = list(
            session.scalars(
                select(InboxEvent.id).where(InboxEvent.id.in_(event_ids), InboxEvent.platform.in_(platforms))
            )
        )
    fetched: fetching.Fetched = {}
    for event_id in ids:
        fetched.update(fetching.fetch_one(database, apis, event_id))
    return fetched


def apply_document(session: Session, shop: Shop, document: batch.Document) -> Order:
    """Apply a normalized delivery to the shop's orders, as the worker does (``mailbox``), but
    without moving any inbox row."""
    if isinstance(document, schema.Order):
        return lifecycle.apply_snapshot(session, shop, document)
    if isinstance(document, schema.StatusUpdate):
        return lifecycle.apply_status(session, shop, document)
    return lifecycle.apply_refund(session, shop, document)


def _replay_one(database: Database, event_id: int, apis: ApiFactory | None, report: ReplayReport) -> None:
    status = mailbox.replay(database, event_id, apis)
    if status == InboxStatus.PROCESSED:
        report.counts[REPLAYED] += 1
    elif status == InboxStatus.IGNORED:
        report.counts[IGNORED] += 1
    else:
        with database.read() as session:
            event = session.get(InboxEvent, event_id)
            error = (event.last_error if event else None) or f"event {status}"
        report.counts[FAILED] += 1
        report.failures.append((event_id, error))


# --- show -----------------------------------------------------------------------------------
