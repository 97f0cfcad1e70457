"""The ``fenxiao`` command line: serve, work, migrate, add shops, settle, replay, demo."""

from __future__ import annotations

import json
import logging

import click

import migrations
from plugin import runtime
from plugin.cli.demo import demo, send_sample, up
from plugin.cli.rules import rules_group
from plugin.cli.serve import serve
from plugin.cli.support import (
    ISO_TIME,
    PERCENT,
    CommandGroup,
    database,
    log_serving,
    shop_summary,
)
from plugin.cli.users import user_group
from plugin.commissions import settlement
from plugin.config import Config
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.jobs import context, tasks
from plugin.members import directory
from plugin.shops import tenants


def _config(**overrides) -> Config:
    return Config.from_env(**overrides)


def _database_url() -> str:
    return runtime.normalize_database_url(_config().database_url)


@click.group(cls=CommandGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool):
    """fenxiao: compliant referral-distribution commissions for any shop."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def db():
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Create or upgrade the schema of $DATABASE_URL (default: ./fenxiao.sqlite3)."""
    migrations.upgrade(_database_url(), revision)
    click.echo(f"database at revision {migrations.current_revision(_database_url())}")


@db.command("current")
def db_current():
    click.echo(migrations.current_revision(_database_url()) or "empty")


@main.group()
def shop():
    """Shops (tenants)."""


@shop.command("add")
@click.option("--name", required=True)
@click.option("--platform", required=True, help="shopify (more platforms come as adapters)")
@click.option("--currency", default="CNY", show_default=True)
@click.option("--tier-depth", type=int, default=2, show_default=True, help="1..3 tiers earn commission")
@click.option("--after-sales-days", type=int, default=7, show_default=True)
@click.option("--webhook-secret", default=None, help="the platform app's signing secret (16+ bytes)")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="rules read order times here")
@click.option(
    "--commission-ceiling",
    type=PERCENT,
    default="50",
    show_default=True,
    help="% of a line all tiers together may earn from it (up to 100)",
)
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
def shop_add(
    name,
    platform,
    currency,
    tier_depth,
    after_sales_days,
    webhook_secret,
    timezone,
    commission_ceiling,
    base_url,
):
    """Create a shop; prints its id, webhook URL, secret and API key as JSON (shown once)."""
    try:
        with database().transaction() as session:
            new = tenants.create_shop(
                session,
                name=name,
                platform=platform,
                currency=currency,
                tier_depth=tier_depth,
                after_sales_days=after_sales_days,
                webhook_secret=webhook_secret,
                timezone=timezone,
                commission_ceiling_bp=commission_ceiling,
                actor="cli",
            )
    except tenants.InvalidSetting as err:
        raise click.UsageError(f"{err.field}: {err.message}") from None
    click.echo(json.dumps(shop_summary(new, base_url), indent=2))


@shop.command("list")
def shop_list():
    """Every shop: id, name, platform, currency, depth, after-sales window, time zone."""
    with database().transaction() as session:
        rows = tenants.list_shops(session)
        if not rows:
            click.echo("no shops yet: fenxiao shop add --platform shopify --name NAME")
            return
        click.echo(f"{'id':>4}  {'name':<24} {'platform':<9} {'cur':<4} depth  days  timezone")
        for row in rows:
            click.echo(
                f"{row.id:>4}  {row.name[:24]:<24} {row.platform:<9} {row.currency:<4} {row.tier_depth:>5}"
                f"  {row.after_sales_days:>4}  {row.timezone}"
            )


@main.group("member")
def member_group():
    """Members and distributors of a shop."""


@member_group.command("list")
@click.option("--shop", "shop_id", type=int, required=True, help="the shop's id")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--after", "after_id", type=int, default=0, help="list members after this id (paging)")
def member_list(shop_id, limit, after_id):
    """The shop's members: identities, distributor status and level, invite code, inviter."""
    with database().transaction() as session:
        tenants.get_shop(session, shop_id)
        rows = directory.list_members(session, shop_id, limit=limit, after_id=after_id)
    if not rows:
        click.echo(f"shop {shop_id} has no members{' after ' + str(after_id) if after_id else ''}")
        return
    click.echo(f"{'member':>7}  {'identity':<32} {'distributor':<16} {'invite code':<14} invited by")
    for row in rows:
        status = f"{row['distributor_status']} ({row['level']})" if row["distributor_status"] else "-"
        click.echo(
            f"{row['member_id']:>7}  {', '.join(row['identities'])[:32]:<32} {status:<16}"
            f" {row['invite_code'] or '-':<14} {row['inviter_id'] or '-'}"
        )


@main.command()
@click.option("--now", type=ISO_TIME, default=None, help="settle as of this ISO time (default: now)")
def settle(now):
    """Settle every commission whose after-sales window has passed."""
    from tqdm import tqdm

    db = database()
    moment = now or utcnow()
    total = settlement.count_due(db, moment)
    with tqdm(total=total, unit="commission", desc="settling", disable=None) as bar:
        done = settlement.settle_due(db, moment, progress=bar.update)
    click.echo(f"settled {done} commission(s)")


@main.group("inbox")
def inbox_group():
    """Stored webhook deliveries."""


@inbox_group.command("replay")
@click.argument("event_id", type=int)
def inbox_replay(event_id):
    """Process a failed or dead delivery again, now."""
    status = mailbox.replay(database(), event_id)
    if status == "missing":
        raise click.ClickException(f"no inbox event {event_id}")
    click.echo(status)
    if status in ("failed", "dead"):
        raise SystemExit(1)


@inbox_group.command("sweep")
def inbox_sweep():
    """Drain every due delivery now: those no wake-up reached and the failed ones due for retry."""
    config = _config()
    rt = runtime.build(config if config.jobs == "rq" else _config(jobs="inline"))
    with context.using(rt):
        click.echo(f"drained {tasks.inbox_sweep()} event(s)")
    rt.close()


@main.command()
@click.option("--burst", is_flag=True, help="exit once the queues are empty")
@click.option(
    "--cron/--no-cron", default=True, show_default=True, help="also run RQ's cron scheduler for the sweeps"
)
def worker(burst, cron):
    """Run an RQ worker (needs REDIS_URL) with RQ's cron scheduler for the sweeps.

    Sweeps are idempotent, so several schedulers are harmless; one per deployment is enough
    (start the other workers with --no-cron).
    """
    from plugin.jobs.worker import run_worker

    config = _config(jobs="rq")
    log_serving()
    run_worker(config, burst=burst, with_cron=cron)


main.add_command(demo)
main.add_command(serve)
main.add_command(up)
main.add_command(send_sample)
main.add_command(rules_group)
main.add_command(user_group)
