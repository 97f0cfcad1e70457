"""fenxiao as a Flask extension, for a merchant whose stack is their own Flask app::

    from flask import Flask
    from plugin.extension import Fenxiao

    app = Flask(__name__)
    Fenxiao(app, url_prefix="/fenxiao")

mounts the webhook intake (``/fenxiao/webhooks/<platform>/<shop_id>``), the JSON API and its
OpenAPI document (``/fenxiao/api/v1/…``, ``/fenxiao/api/v1/openapi.json``), the workbench
(``/fenxiao/admin/``) and ``/fenxiao/healthz`` on the host's app, and the ``fenxiao`` commands
under the host's ``flask`` command (``flask fenxiao db upgrade``). The wiring is
``plugin.app.wire``, the same that builds fenxiao's own app.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import Engine

from plugin.app import wire
from plugin.cli import main
from plugin.cli.support import CommandGroup
from plugin.config import Config
from plugin.errors import InvalidConfig
from plugin.runtime import EXTENSION, Runtime, build


class Fenxiao:
    """fenxiao inside a host's Flask app, by the Flask extension convention.

    ``Fenxiao(app)``, or ``fenxiao = Fenxiao(); fenxiao.init_app(app)`` in an app factory. Each
    app gets its own runtime (database, job queue), kept in ``app.extensions["fenxiao"]``.

    Database: fenxiao's own (``config.database_url``; without ``config``, the app's
    ``FENXIAO_DATABASE_URL``, else ``DATABASE_URL``, else ``./fenxiao.sqlite3``), or the host's
    SQLAlchemy ``engine`` (SQLite or PostgreSQL, used as
    ``plugin.db.Database.from_engine`` describes). Either way its tables are made by
    ``flask fenxiao db upgrade``. Jobs run as ``config.jobs`` says: by default on a thread in
    the web process, with the sweeps on a timer, or on RQ workers (``flask fenxiao worker``).

    What fenxiao does to the host's app and what it leaves alone:

    - Its errors are JSON only on its own routes (and on unmatched URLs under the prefix); its
      body limit (``max_body_bytes``) and JSON-body check apply to its routes only. The host's
      routes, error pages, ``MAX_CONTENT_LENGTH``, session interface and cookie settings stay
      as they are; the host's ``SECRET_KEY`` signs the workbench's session (fenxiao sets one,
      from ``FENXIAO_SECRET_KEY`` or ``fenxiao-secret.key``, only if the host has none).
    - A host's Flask-WTF ``CSRFProtect`` keeps checking the host's forms and the workbench's,
      and is told to exempt fenxiao's webhooks and API (they are signed instead).
    - fenxiao's blueprints are ``webhooks``, ``fenxiao_members``, ``fenxiao_orders``,
      ``fenxiao_rules``, ``fenxiao_categories``, ``fenxiao``, ``fenxiao-api-docs`` and the
      workbench's ``admin_*`` (the host's must have other names); it adds the ``id`` URL
      converter and ``FENXIAO_*`` settings.

    Limitations (refused at start-up with the reason, or documented):

    - The workbench needs Flask-Login, Flask-Babel and Jinja filters (``money``, ``number``,
      ``datetimeformat``…) to itself: a host with its own LoginManager or Flask-Babel, or
      filters or globals of those names, passes ``workbench=False`` (webhooks and API only).
    - The workbench shares the host's session cookie, and logging in or out of it starts a
      fresh session (so no session fixation), which drops what the host kept in the cookie.
    - The host's Flask-Limiter settings (``RATELIMIT_*``) are read by the workbench's limiter
      too: app-wide default limits would be counted twice.
    - On the host's engine, fenxiao's tables (``shop``, ``orders``, ``member``, ``account``…)
      and Alembic's ``alembic_version`` table live beside the host's: a host whose own tables
      have those names, or whose schema is managed by Alembic in the same database, gives
      fenxiao its own database (``config.database_url``) or PostgreSQL schema instead.
    - ``fenxiao up``, ``serve``, ``demo`` and ``send-sample`` run fenxiao's own app and are not
      under ``flask fenxiao``; serve the host app as the host does (``flask run``, gunicorn).

    Args:
        app: the host's app; or None, and ``init_app`` later.
        url_prefix: where fenxiao's URLs start, e.g. ``/fenxiao`` (not the site's root).
        config: fenxiao's settings; when omitted, the environment's, with the app's
            ``FENXIAO_DATABASE_URL`` first (``settings_of``).
        engine: the host's SQLAlchemy engine to keep fenxiao's tables in, instead of
            ``config.database_url``.
        workbench: mount the workbench (``<prefix>/admin/``).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        url_prefix: str = "/fenxiao",
        config: Config | None = None,
        engine: Engine | None = None,
        workbench: bool = True,
    ):
        self.url_prefix = "/" + url_prefix.strip("/")
        if self.url_prefix == "/":
            raise InvalidConfig("fenxiao inside an app needs a URL prefix of its own, such as /fenxiao")
        self.config = config
        self.engine = engine
        self.workbench = workbench
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Mount fenxiao on ``app`` and add ``flask fenxiao``.

        Raises:
            InvalidConfig: a setting that cannot work, or the app already has what fenxiao
                needs to itself (the message says which).
        """
        config = self.config or settings_of(app)
        rt = build(config, engine=self.engine)
        try:
            wire(app, rt, url_prefix=self.url_prefix, embedded=True, workbench=self.workbench)
        except Exception:
            rt.close()
            raise
        app.cli.add_command(commands, "fenxiao")

    @staticmethod
    def runtime(app: Flask | None = None) -> Runtime:
        """fenxiao's runtime (settings, database, job queue) on ``app``, or on the current app."""
        return (app or current_app).extensions[EXTENSION]


def settings_of(app: Flask) -> Config:
    """fenxiao's settings from the environment, with the app's ``FENXIAO_DATABASE_URL``
    (``app.config``) first: a host's own ``DATABASE_URL`` is usually the host's database, not
    the one meant for fenxiao's tables."""
    database_url = app.config.get("FENXIAO_DATABASE_URL")
    return Config.from_env(**({"database_url": database_url} if database_url else {}))


STANDALONE_ONLY = frozenset({"up", "serve", "demo", "send-sample"})


class HostCommands(CommandGroup):
    """``flask fenxiao``: every ``fenxiao`` command that works on the host app's runtime (each
    takes its settings and database from the app, ``plugin.cli.support``), not those that run
    fenxiao's own app (``STANDALONE_ONLY``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in main.list_commands(ctx) if name not in STANDALONE_ONLY]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return None if name in STANDALONE_ONLY else main.get_command(ctx, name)


commands = HostCommands(
    "fenxiao",
    params=main.params,
    callback=main.callback,
    help="fenxiao inside this app: migrate, shops, members, settle, inbox, worker, rules, users.",
)
