"""``fenxiao inbox``: replay stored webhook deliveries, show one, drain the due ones."""

from __future__ import annotations

import json
import sys

import click

from adapters.money import Money
from plugin import runtime
from plugin.cli.support import ISO_TIME, database, settings
from plugin.config import Config
from plugin.inbox import mailbox, replay, show
from plugin.jobs import context, tasks
from plugin.platforms import connections

DATES = (
    "DATE is ISO 8601: 2026-11-01 (midnight), 2026-11-01T08:30:00, or with an offset "
    "2026-11-01T08:30:00+08:00; without an offset it is UTC."
)


class PlatformClients:
    """``connections.api_factory``, built on first use: only adapters that fetch need it (and
    with it the app's secret key, which an unset ``FENXIAO_SECRET_KEY`` would create on disk)."""

    def __init__(self, config: Config):
        self.config, self.factory = config, None

    def built(self) -> connections.ApiFactory:
        if self.factory is None:
            self.factory = connections.api_factory(self.config)
        return self.factory

    def __call__(self, session, shop):
        return self.built()(session, shop)

    def for_shop(self, database, shop_id: int):
        return self.built().for_shop(database, shop_id)


@click.group("inbox")
def inbox_group():
    """Stored webhook deliveries: replay them, show one, drain the due ones."""


@inbox_group.command("replay", epilog=DATES)
@click.argument("event_id", type=int, required=False)
@click.option("--shop", "shop_id", type=int, help="replay this shop's deliveries ...")
@click.option("--since", type=ISO_TIME, metavar="DATE", help="... received at or after DATE")
@click.option("--until", type=ISO_TIME, metavar="DATE", help="... and before DATE (default: now)")
@click.option("--actor", default="cli", show_default=True, help="who asked, for the audit log")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="force the progress bar on stderr on or off (default: on when stderr is a terminal)",
)
def inbox_replay(event_id, shop_id, since, until, actor, progress):
    """Process deliveries again: one failed or dead EVENT_ID now, or a shop's since a date.

    With --shop and --since, every delivery of the shop received in [--since, --until) is
    replayed in id order: processed ones are applied again from their stored body (nothing
    changes twice: the ledger stays as it is), failed and dead ones are processed now, ignored
    ones are skipped and received ones left to the workers. Exits 1 if any event failed.
    """
    clients = PlatformClients(settings())
    if event_id is not None:
        if shop_id is not None or since is not None or until is not None:
            raise click.UsageError("give either EVENT_ID or --shop with --since, not both")
        status = mailbox.replay(database(), event_id, clients)
        if status == "missing":
            raise click.ClickException(f"no inbox event {event_id}")
        click.echo(status)
        if status in ("failed", "dead"):
            raise SystemExit(1)
        return
    if shop_id is None or since is None:
        raise click.UsageError("give an EVENT_ID, or --shop and --since to replay a shop's deliveries")
    if until is not None and until <= since:
        raise click.UsageError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    from tqdm import tqdm

    db = database()
    total = replay.count_events(db, shop_id, since, until)
    with tqdm(
        total=total,
        unit="event",
        desc="replaying",
        file=sys.stderr,
        disable=None if progress is None else not progress,
    ) as bar:
        report = replay.replay_since(
            db, shop_id, since, until=until, apis=clients, progress=bar.update, actor=actor
        )
    _print_report(report)
    if report.failures:
        raise SystemExit(1)


NOTES = {
    replay.REAPPLIED: "processed: applied again",
    replay.REPLAYED: "failed or dead: processed now",
    replay.SKIPPED: "processed: applies nothing now",
    replay.IGNORED: "ignored: not acted on",
    replay.RECEIVED: "not processed yet: left to the workers",
    replay.FAILED: "could not be replayed (below)",
}


def _print_report(report: replay.ReplayReport) -> None:
    until = report.until.isoformat() if report.until else "now"
    click.echo(f"shop {report.shop_id}: deliveries received from {report.since.isoformat()} to {until}")
    click.echo(f"{'outcome':<10} {'events':>8}")
    for outcome in replay.OUTCOMES:
        click.echo(f"{outcome:<10} {report.counts[outcome]:>8}  {NOTES[outcome]}")
    click.echo(f"{'total':<10} {report.total:>8}")
    for event_id, error in report.failures:
        click.echo(f"  event {event_id}: {error.splitlines()[0] if error else ''}")


@inbox_group.command("show")
@click.argument("event_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the whole view as JSON")
def inbox_show(event_id, as_json):
    """Print one delivery (signatures redacted), its body, its order in the common schema, and
    what it became: the order, its commissions and their ledger transactions."""
    view = show.show_event(database(), event_id)
    if as_json:
        click.echo(json.dumps(view, indent=2, ensure_ascii=False))
        return
    for line in describe_event(view):
        click.echo(line)


def describe_event(view: dict) -> list[str]:
    """The readable lines of ``show``."""
    out = [
        f"event {view['id']}  shop {view['shop_id']}  {view['platform']} {view['topic']} ({view['kind']})",
        f"  key        {view['event_key']}",
        f"  status     {view['status']} after {view['attempts']} attempt(s)",
        f"  received   {view['received_at']}",
        f"  processed  {view['processed_at'] or '-'}",
    ]
    if view["reason"]:
        out.append(f"  reason     {view['reason']}")
    if view["last_error"]:
        out.append(f"  last error {view['last_error']}")
    out.append("headers")
    out += [f"  {name}: {value}" for name, value in view["headers"].items()]
    out.append("body")
    out += ["  " + line for line in view["body"].splitlines()]
    normalized = view["normalized"]
    if normalized is None:
        out.append("normalized: nothing (this kind of delivery is not acted on)")
    elif "type" not in normalized:
        out.append(f"normalized: {normalized.get('error') or 'needs a fetch: ' + normalized['needs_fetch']}")
    else:
        out.append(f"normalized: {normalized['type']}")
        out += [
            f"  {key}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in normalized.items()
            if key != "type"
        ]
    out += _describe_order(view["order"], normalized)
    return out


def _describe_order(order: dict | None, normalized: dict | None) -> list[str]:
    if order is None:
        return ["became: no order" if normalized and "type" in normalized else "became: unknown"]
    currency = order["currency"]

    def money(minor: int) -> str:
        return str(Money(minor, currency))

    out = [
        f"became: order {order['external_id']} (id {order['id']}), {order['status']}, "
        f"paid {money(order['paid_total'])}, refunded {money(order['refunded_total'])}",
    ]
    for line in order["lines"]:
        out.append(
            f"  line {line['external_id']}  product {line['product_id']}  x{line['quantity']}"
            f"  paid {money(line['paid_amount'])}  refunded {money(line['refunded_amount'])}"
        )
    for refund in order["refunds"]:
        out.append(f"  refund {refund['external_id']}  {money(refund['total'])}  at {refund['refunded_at']}")
    out.append(f"commissions: {len(order['commissions'])}")
    for c in order["commissions"]:
        out.append(
            f"  tier {c['tier']}  member {c['beneficiary_id']}  line {c['line']}  {money(c['amount'])}"
            f"  reversed {money(c['reversed'])}  {c['status']}"
        )
    out.append(f"ledger transactions: {len(order['ledger'])}")
    for txn in order["ledger"]:
        out.append(f"  #{txn['id']}  {txn['key']}  {txn['kind']}  {txn['posted_at']}  {txn['memo']}")
        for leg in txn["entries"]:
            side = "debit " if leg["amount"] > 0 else "credit"
            out.append(
                f"      {side} {str(Money(abs(leg['amount']), leg['currency'])):>14}"
                f"  member {leg['member_id']} {leg['account']}"
            )
    return out


@inbox_group.command("sweep")
def inbox_sweep():
    """Drain every due delivery now: those no wake-up reached and the failed ones due for retry."""
    config = settings()
    rt = runtime.build(config if config.jobs == "rq" else settings(jobs="inline"))
    with context.using(rt):
        click.echo(f"drained {tasks.inbox_sweep()} event(s)")
    rt.close()
