"""What every ``fenxiao`` command shares: the settings and database it works on (the host app's
under ``flask fenxiao``), one line (never a traceback) for an ordinary mistake, ISO time
options, a port check, and the shop summary the shop commands print."""

from __future__ import annotations

import errno
import logging
import socket
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import click
from flask import current_app
from flask.cli import ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from plugin import runtime
from plugin.config import Config
from plugin.errors import FenxiaoError
from plugin.shops import tenants


def host_runtime() -> runtime.Runtime | None:
    """The runtime of the Flask app a command runs under (``flask fenxiao …`` in a host app that
    mounted ``Fenxiao(app)``), or None for the ``fenxiao`` command itself."""
    if current_app:
        return current_app.extensions.get(runtime.EXTENSION)
    context = click.get_current_context(silent=True)
    info = context.find_object(ScriptInfo) if context is not None else None
    if info is None:
        return None
    return info.load_app().extensions.get(runtime.EXTENSION)


def settings(**overrides) -> Config:
    """The settings a command works with: the host app's under ``flask fenxiao`` (its database,
    also when it runs on the host's engine), else the environment's; then ``overrides``.

    Raises:
        InvalidConfig: a setting that cannot work, named in the message.
    """
    host = host_runtime()
    if host is None:
        return Config.from_env(**overrides)
    return Config.from_env(**{**asdict(host.config), **overrides})


def database():
    """The database a command works on: the host app's under ``flask fenxiao``, else the
    configured one (jobs run inline: a command does its work before it exits)."""
    host = host_runtime()
    if host is not None:
        return host.database
    return runtime.build(Config.from_env(jobs="inline")).database


def log_serving() -> None:
    """Long-running processes log one line per request and per processed event (INFO)."""
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))


def describe(err: FenxiaoError) -> str:
    return f"{err.code}: {err.message}" + (f" (field {err.field})" if err.field else "")


class CommandGroup(click.Group):
    """A click group whose commands report ordinary mistakes in one line and exit non-zero.

    Domain refusals (an unknown shop, a bad setting, an invalid rule set), settings that cannot
    work and a database that is unreachable or not migrated yet are what a newcomer meets first;
    a traceback for them would hide the one sentence that matters.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FenxiaoError as err:
            raise click.ClickException(describe(err)) from None
        except (OperationalError, ProgrammingError) as err:
            reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
            raise click.ClickException(
                f"cannot use the database ({reason}); check DATABASE_URL and run `fenxiao db upgrade`"
            ) from None


class IsoTime(click.ParamType):
    """An ISO-8601 date or date-time; one without an offset is read as UTC."""

    name = "ISO time"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an ISO date or time, e.g. 2026-11-11 or 2026-11-11T00:00:00+08:00")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


ISO_TIME = IsoTime()


class Percent(click.ParamType):
    """A percentage with at most two decimals (``50``, ``12.5``), as basis points (5000, 1250)."""

    name = "percent"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            basis_points = Decimal(str(value).strip().removesuffix("%")).scaleb(2)
        except InvalidOperation:
            self.fail(f"{value!r} is not a percentage, e.g. 50 or 12.5")
        if not basis_points.is_finite() or basis_points != basis_points.to_integral_value():
            self.fail(f"{value!r} is not a percentage with at most two decimals")
        return int(basis_points)


PERCENT = Percent()


def check_port_free(host: str, port: int) -> None:
    """Fail in one line if ``host:port`` cannot be bound (in use, or not an address of this machine)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is already in use; stop the other server or pick --port"
                ) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror}") from None


def shop_summary(new: tenants.NewShop, base_url: str) -> dict:
    """What ``shop add`` and ``up`` print (and ``up`` keeps in fenxiao-demo.json); under
    ``flask fenxiao`` the webhook URL has the prefix the host mounted fenxiao at."""
    shop = new.shop
    host = host_runtime()
    base_url = base_url.rstrip("/") + (host.url_prefix if host is not None else "")
    return {
        "shop_id": shop.id,
        "name": shop.name,
        "platform": shop.platform,
        "currency": shop.currency,
        "tier_depth": shop.tier_depth,
        "after_sales_days": shop.after_sales_days,
        "timezone": shop.timezone,
        "commission_ceiling": str(Decimal(shop.commission_ceiling_bp).scaleb(-2)),
        "webhook_url": f"{base_url}/webhooks/{shop.platform}/{shop.id}",
        "webhook_secret": new.webhook_secret,
        "api_key": new.api_key,
    }
