"""The ``fenxiao`` command line: serve, work, migrate, add shops, settle, replay, demo."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import click

import migrations

from . import inbox, jobs, runtime, settlement, shops
from .config import Config
from .db import utcnow


def _config(**overrides) -> Config:
    return Config.from_env(**overrides)


def _database_url() -> str:
    return runtime.normalize_database_url(_config().database_url)


@click.group()
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


def shop_summary(new: shops.NewShop, base_url: str) -> dict:
    shop = new.shop
    return {
        "shop_id": shop.id,
        "name": shop.name,
        "platform": shop.platform,
        "currency": shop.currency,
        "tier_depth": shop.tier_depth,
        "after_sales_days": shop.after_sales_days,
        "webhook_url": f"{base_url.rstrip('/')}/webhooks/{shop.platform}/{shop.id}",
        "webhook_secret": new.webhook_secret,
        "api_key": new.api_key,
    }


@main.group()
def shop():
    """Shops (tenants)."""


@shop.command("add")
@click.option("--name", required=True)
@click.option("--platform", required=True, help="shopify (more platforms come as adapters)")
@click.option("--currency", default="CNY", show_default=True)
@click.option("--tier-depth", type=int, default=2, show_default=True, help="1..3 tiers earn commission")
@click.option("--after-sales-days", type=int, default=7, show_default=True)
@click.option("--webhook-secret", default=None, help="the platform app's signing secret")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="rules read order times here")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
def shop_add(name, platform, currency, tier_depth, after_sales_days, webhook_secret, timezone, base_url):
    """Create a shop; prints its id, webhook URL, secret and API key as JSON (shown once)."""
    database = runtime.configure(_config(jobs="inline")).database
    try:
        with database.transaction() as session:
            new = shops.create_shop(
                session,
                name=name,
                platform=platform,
                currency=currency,
                tier_depth=tier_depth,
                after_sales_days=after_sales_days,
                webhook_secret=webhook_secret,
                actor="cli",
            )
    except shops.InvalidSetting as err:
        raise click.UsageError(f"{err.field}: {err.message}") from None
    click.echo(json.dumps(shop_summary(new, base_url), indent=2))


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@click.option("--now", default=None, help="settle as of this ISO time (default: now)")
def settle(now):
    """Settle every commission whose after-sales window has passed."""
    from tqdm import tqdm

    database = runtime.configure(_config(jobs="inline")).database
    moment = _parse_now(now)
    with tqdm(total=settlement.count_due(database, moment), unit="commission", desc="settling") as bar:
        done = settlement.settle_due(database, moment, progress=bar.update)
    click.echo(f"settled {done} commission(s)")


@main.group("inbox")
def inbox_group():
    """Stored webhook deliveries."""


@inbox_group.command("replay")
@click.argument("event_id", type=int)
def inbox_replay(event_id):
    """Process a failed or dead delivery again, now."""
    database = runtime.configure(_config(jobs="inline")).database
    click.echo(inbox.replay(database, event_id))


@inbox_group.command("sweep")
def inbox_sweep():
    """Enqueue every delivery whose job was lost or whose retry is due (run at once without Redis)."""
    config = _config()
    runtime.configure(config if config.jobs == "rq" else _config(jobs="inline"))
    click.echo(f"enqueued {jobs.inbox_sweep()} event(s)")


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
    from .worker import run_worker

    run_worker(_config(jobs="rq"), burst=burst, with_cron=cron)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
def serve(host, port, threads):
    """Serve the web app with waitress (production: several behind a load balancer)."""
    from waitress import serve as waitress_serve

    from .app import create_app

    waitress_serve(create_app(_config()), host=host, port=port, threads=threads)


from .cli_demo import demo, send_sample, up  # noqa: E402 - they reuse the helpers above
from .cli_rules import rules_group  # noqa: E402

main.add_command(demo)
main.add_command(up)
main.add_command(send_sample)
main.add_command(rules_group)
