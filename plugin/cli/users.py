"""``fenxiao user``: the workbench's users (the first admin of a shop, platform superusers)."""

from __future__ import annotations

import sys

import click

from plugin.cli.support import database
from plugin.users import accounts
from plugin.users.models import Role


@click.group("user")
def user_group():
    """Workbench users (log in at /admin)."""


@user_group.command("add")
@click.option("--shop", "shop_id", type=int, default=None, help="the shop the user works in")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default="viewer", show_default=True)
@click.option("--superuser", is_flag=True, help="a platform superuser: no shop, may switch to any")
@click.option("--language", type=click.Choice(accounts.LOCALES), default=None, help="default: the browser's")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_add(shop_id, email, role, superuser, language, password_stdin):
    """Add a user; the password is prompted for (twice) unless --password-stdin."""
    if superuser == (shop_id is not None):
        raise click.UsageError("give --shop ID for a shop's user, or --superuser (no shop)")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with database().transaction() as session:
        user = accounts.add_user(
            session,
            email=email,
            password=password,
            role=role,
            shop_id=shop_id,
            superuser=superuser,
            locale=language,
            actor="cli",
        )
        where = "every shop (superuser)" if superuser else f"shop {shop_id} as {role}"
        click.echo(f"user {user.id} {user.email}: {where}; log in at /admin/login")


@user_group.command("list")
@click.option("--shop", "shop_id", type=int, required=True)
def user_list(shop_id):
    """The shop's users: id, e-mail, role, last login."""
    with database().transaction() as session:
        for user in accounts.users_of(session, shop_id):
            seen = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
            state = "" if user.active else " (disabled)"
            click.echo(f"{user.id:>4}  {user.email:<32} {user.role:<9} last login {seen}{state}")
