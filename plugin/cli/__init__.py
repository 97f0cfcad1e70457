"""The ``fenxiao`` command line: serve, work, migrate, add shops, settle, replay, reconcile, demo."""

from __future__ import annotations

import logging

import click

from plugin import runtime
from plugin.cli.demo import demo, send_sample, up
from plugin.cli.inbox import inbox_group
from plugin.cli.reconcile import reconcile_command
from plugin.cli.rules import rules_group
from plugin.cli.serve import serve
from plugin.cli.shops import shop
from plugin.cli.support import (
    ISO_TIME,
    CommandGroup,
    database,
    log_serving,
    settings,
)
from plugin.cli.users import user_group
from plugin.cli.withdrawals import withdrawals_group
from plugin.commissions import settlement
from plugin.config import Config
from plugin.db import utcnow
from plugin.members import directory
from plugin.shops import tenants


def _config(**overrides) -> Config:
    return settings(**overrides)


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
    import migrations  # alembic: ~1 s, imported by the commands that migrate only

    migrations.upgrade(_database_url(), revision)
    click.echo(f"database at revision {migrations.current_revision(_database_url())}")


@db.command("current")
def db_current():
    import migrations

    click.echo(migrations.current_revision(_database_url()) or "empty")


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
main.add_command(shop)
main.add_command(up)
main.add_command(send_sample)
main.add_command(rules_group)
main.add_command(user_group)
main.add_command(inbox_group)
main.add_command(reconcile_command)
main.add_command(withdrawals_group)
