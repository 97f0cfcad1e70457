"""``fenxiao withdrawals``: a shop's withdrawal settings and gateway credentials, the payout
sweep, and the identity keyring (a new key, then every identity sealed again under it)."""

from __future__ import annotations

import json
import os

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from plugin import runtime
from plugin.cli.support import database, settings
from plugin.errors import FenxiaoError
from plugin.jobs import context, tasks
from plugin.shops import tenants
from plugin.withdrawals import connectors
from plugin.withdrawals import keyring as keyrings
from plugin.withdrawals import settings as withdrawal_settings
from plugin.withdrawals.models import Payee


@click.group("withdrawals")
def withdrawals_group():
    """Withdrawal settings, payout gateways, the payout sweep and the identity keyring."""


@withdrawals_group.command("settings")
@click.option("--shop", "shop_id", type=int, required=True)
@click.option(
    "--set",
    "changes",
    multiple=True,
    metavar="NAME=JSON",
    help="e.g. --set daily=500000 --set channels='[\"bank\"]'",
)
@click.option("--actor", default="cli", show_default=True)
def show_or_change(shop_id, changes, actor):
    """Show a shop's withdrawal settings, or change some (amounts in fen, JSON values)."""
    try:
        parsed = {}
        for change in changes:
            name, _, value = change.partition("=")
            try:
                parsed[name.strip()] = json.loads(value)
            except json.JSONDecodeError:
                parsed[name.strip()] = value  # a bare word: a string ("labour_remuneration")
        with database().transaction() as session:
            shop = tenants.get_shop(session, shop_id)
            if parsed:
                withdrawal_settings.update(session, shop, actor, **parsed)
            row = withdrawal_settings.row_of(session, shop)
            shown = {name: getattr(row, name) for name in withdrawal_settings.EDITABLE}
    except FenxiaoError as err:
        raise click.ClickException(err.message) from None
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


@withdrawals_group.command("gateway")
@click.option("--shop", "shop_id", type=int, required=True)
@click.argument("name", type=click.Choice([*connectors.GATEWAYS, connectors.IDENTITY]))
@click.argument("credentials", type=click.File("r"))
@click.option("--actor", default="cli", show_default=True)
def set_gateway(shop_id, name, credentials, actor):
    """Set a gateway's credentials from a JSON file (``-``: standard input): wechat takes mchid,
    appid, private_key, cert_serial_no, apiv3_key, public_key, public_key_id [, notify_url];
    alipay takes app_id, app_private_key, alipay_public_key [, gateway_url, notify_url];
    identity takes secret. They are checked, then stored sealed."""
    try:
        values = json.load(credentials)
        config = settings()
        with database().transaction() as session:
            shop = tenants.get_shop(session, shop_id)
            connectors.configure(session, shop, keyrings.keyring(config), name, values, actor)
    except json.JSONDecodeError as err:
        raise click.ClickException(f"the credentials are not JSON: {err}") from None
    except FenxiaoError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"{name} credentials stored for shop {shop_id}")


@withdrawals_group.command("sweep")
def sweep():
    """Verify, pay and ask about every withdrawal and payout that waits on no person."""
    rt = runtime.build(settings(jobs="inline"))
    with context.using(rt):
        click.echo(f"moved on {tasks.payout_sweep()} withdrawal(s) and payout(s)")


@withdrawals_group.command("new-key")
def new_key():
    """Put a new identity key first in fenxiao-identity.keys (with FENXIAO_IDENTITY_KEYS set,
    print one to put first there instead); then run ``fenxiao withdrawals reseal``."""
    if os.environ.get("FENXIAO_IDENTITY_KEYS"):
        click.echo(Fernet.generate_key().decode())
        return
    keyrings.add_key()
    click.echo(f"a new key is first in {keyrings.KEYS_FILE}; now run: fenxiao withdrawals reseal")


@withdrawals_group.command("reseal")
def reseal():
    """Seal every stored identity and account again under the newest key."""
    keys = keyrings.keyring(settings())
    count = 0
    with database().transaction() as session:
        for payee in session.scalars(select(Payee).order_by(Payee.id).with_for_update()):
            for field in ("real_name_sealed", "id_number_sealed", "account_sealed"):
                setattr(payee, field, keys.reseal(getattr(payee, field)))
            count += 1
    click.echo(f"sealed {count} payee(s) again under the newest key")
