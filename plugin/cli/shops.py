"""``fenxiao shop``: add a shop on any platform, connect it to its platform's API, list shops."""

from __future__ import annotations

import json

import click

from adapters.errors import PlatformRefused, PlatformUnavailable
from plugin.cli.support import PERCENT, database, settings, shop_summary
from plugin.config import Config
from plugin.errors import NotFound
from plugin.platforms import connections
from plugin.shops import tenants
from plugin.shops.models import Shop

# Platforms that sign their messages with the app's own client secret and identify the app by
# its client id: a shop on them is useless without both.
APP_SIGNED = ("youzan", "weimob")


@click.group()
def shop():
    """Shops (tenants)."""


@shop.command("add")
@click.option("--name", required=True)
@click.option("--platform", required=True, help="shopify, youzan, weimob or generic")
@click.option("--currency", default="CNY", show_default=True)
@click.option("--tier-depth", type=int, default=2, show_default=True, help="1..3 tiers earn commission")
@click.option("--after-sales-days", type=int, default=7, show_default=True)
@click.option(
    "--webhook-secret",
    "--client-secret",
    default=None,
    help="the platform app's secret, which signs its webhooks (16+ bytes; generated if omitted)",
)
@click.option("--client-id", default=None, help="the platform app's id (Youzan client_id, Weimob clientId)")
@click.option("--shop-ref", default=None, help="the shop's platform id: kdt_id, bosId, *.myshopify.com")
@click.option("--api-base", default=None, help="the platform API's address if not the public one")
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
    client_id,
    shop_ref,
    api_base,
    timezone,
    commission_ceiling,
    base_url,
):
    """Create a shop; prints its id, webhook URL, secret and API key as JSON (shown once).

    Youzan and Weimob sign their messages with the app's client secret and id, so a shop on
    them needs --client-secret and --client-id; its platform id (--shop-ref) lets fenxiao call
    the platform's API (Weimob's messages carry no amounts: fenxiao fetches them).
    """
    if platform in APP_SIGNED and not (client_id and webhook_secret):
        raise click.UsageError(
            f"{platform} signs messages with the app's id and secret: pass --client-id and --client-secret"
        )
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
            if client_id or shop_ref or api_base:
                connections.configure(
                    session, new.shop, client_id=client_id, shop_ref=shop_ref, api_base=api_base, actor="cli"
                )
            summary = shop_summary(new, base_url)
    except tenants.InvalidSetting as err:
        raise click.UsageError(f"{err.field}: {err.message}") from None
    if platform == "shopify" and client_id and shop_ref:
        summary["install_url"] = f"{base_url.rstrip('/')}/install/shopify/{new.shop.id}"
    click.echo(json.dumps(summary, indent=2))


@shop.command("connect")
@click.option("--shop", "shop_id", type=int, required=True, help="the shop's id")
@click.option("--client-id", default=None, help="the platform app's id (kept if omitted)")
@click.option("--shop-ref", default=None, help="the shop's id on the platform (kept if omitted)")
@click.option("--api-base", default=None, help="the platform API's address (kept if omitted)")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
def shop_connect(shop_id, client_id, shop_ref, api_base, base_url):
    """Record the shop's platform app and obtain an API token now (Youzan, Weimob).

    Shopify is connected by its merchant through the OAuth install: this prints the address
    to open. Exits 1 if the platform refuses or does not answer, saying why.
    """
    config = settings(jobs="inline")
    with database().transaction() as session:
        try:
            shop = tenants.get_shop(session, shop_id)
        except NotFound as err:
            raise click.UsageError(err.message) from None
        row = connections.get(session, shop_id)
        keep = (row.client_id, row.shop_ref, row.api_base) if row else (None, None, None)
        row = connections.configure(
            session,
            shop,
            client_id=client_id or keep[0],
            shop_ref=shop_ref or keep[1],
            api_base=api_base or keep[2],
            actor="cli",
        )
    if shop.platform == "shopify":
        click.echo(f"open {base_url.rstrip('/')}/install/shopify/{shop_id} to install the app on the shop")
        return
    if shop.platform == "generic":
        click.echo("a generic shop posts signed events itself: there is nothing to connect")
        return
    _obtain_token(config, shop_id)


def _obtain_token(config: Config, shop_id: int) -> None:
    factory, failure = connections.api_factory(config), None
    with database().transaction() as session:
        shop = session.get(Shop, shop_id)
        try:
            factory(session, shop).access_token()
        except connections.NotConnected as err:
            raise click.UsageError(err.message) from None
        except PlatformRefused as err:  # the app id, secret or grant is wrong: say so on the shop
            connections.refused(session, connections.get(session, shop_id), err.message)
            failure = err
        except PlatformUnavailable as err:  # try again later: nothing about the shop changed
            failure = err
        state = connections.install_state(session, shop)
    if failure is not None:
        click.echo(f"{shop.platform} gave no token: {failure.message}", err=True)
        raise SystemExit(1)
    expiry = state.token_expires_at.isoformat() if state.token_expires_at else "never"
    click.echo(f"shop {shop_id}: {state.status} to {shop.platform} (token expires {expiry})")


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
