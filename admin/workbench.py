"""Setting the workbench up on an app: extensions, session cookie, languages, blueprints.

On fenxiao's own app (``create_app``) the workbench sets the app up as it needs it. Inside a
host's Flask app (``Fenxiao(app)``, ``embedded=True``) it changes nothing the host's own pages
depend on: the host keeps its session interface and cookie settings, Flask-WTF's app-wide CSRF
check is neither switched on nor off, and Flask-Login's ``current_user`` and the workbench's
template variables reach the workbench's templates only. What cannot be shared is refused at
start-up with the reason (``InvalidConfig``): an app has one Flask-Login ``LoginManager``, one
Flask-Babel configuration and one Jinja environment, so a host that already has its own
LoginManager or Flask-Babel, or Jinja filters or globals of the same names as the workbench's,
mounts fenxiao with ``workbench=False``.
"""

from __future__ import annotations

import functools

from flask import Flask, current_app
from flask_wtf.csrf import generate_csrf

from admin import area, extensions, i18n, security
from admin.views import AREAS
from plugin.errors import InvalidConfig

# What ``protect`` reads, at Flask-WTF's own defaults (``CSRFProtect.init_app`` sets the same).
CSRF_DEFAULTS = {
    "WTF_CSRF_METHODS": {"POST", "PUT", "PATCH", "DELETE"},
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_SSL_STRICT": True,
}


def init_app(
    app: Flask, *, limiter_storage: str = "memory://", url_prefix: str = "", embedded: bool = False
) -> list[str]:
    """Set the workbench up on ``app``: sessions, CSRF, languages, login throttling, blueprints.

    Args:
        app: fenxiao's own app, or a host's app (``embedded``).
        limiter_storage: where failed logins are counted (a host's ``RATELIMIT_STORAGE_URI`` wins).
        url_prefix: mounted at ``<url_prefix>/admin/``.
        embedded: ``app`` is a host's: touch none of its app-wide settings (module docstring).

    Returns:
        The names of the workbench's blueprints on ``app``.

    Raises:
        InvalidConfig: (``embedded``) the host already uses what the workbench needs to itself.
    """
    if embedded:
        refuse_conflicts(app)
        app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage)
        app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
        for key, value in CSRF_DEFAULTS.items():
            app.config.setdefault(key, value)
        app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    else:
        app.config.update(
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            WTF_CSRF_CHECK_DEFAULT=False,  # only the workbench's forms: webhooks and the API sign instead
            WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
            RATELIMIT_STORAGE_URI=limiter_storage,
            RATELIMIT_HEADERS_ENABLED=False,
        )
        app.session_interface = security.SessionInterface()
        extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    processors_before = list(app.template_context_processors[None])
    security.init_login(app)
    i18n.init_babel(app, [each.domain for each in AREAS])
    page_globals = functools.partial(area.template_globals, AREAS)
    names = []
    for each in AREAS:
        app.register_blueprint(each.blueprint, url_prefix=url_prefix + (each.blueprint.url_prefix or ""))
        names.append(each.blueprint.name)
    if not embedded:
        app.context_processor(page_globals)
        return names
    # Flask-Login's ``current_user`` (and the tabs, the shop, the locale) for the workbench's
    # templates only: a host's own ``current_user`` stays what the host puts there.
    added = [f for f in app.template_context_processors[None] if f not in processors_before]
    app.template_context_processors[None] = processors_before
    for name in names:
        app.template_context_processors[name].extend([*added, page_globals])
        app.before_request_funcs[name].insert(0, _still_ours)
    return names


def refuse_conflicts(app: Flask) -> None:
    """Refuse a host app that already uses what the workbench needs to itself, before anything
    of it is set up: its own Flask-Login LoginManager or Flask-Babel, or Jinja filters or
    globals of the names the workbench's templates use.

    Raises:
        InvalidConfig: naming what is in the way.
    """
    if getattr(app, "login_manager", extensions.login_manager) is not extensions.login_manager:
        raise InvalidConfig(
            "the app has its own Flask-Login LoginManager and an app has only one: "
            "mount fenxiao with Fenxiao(app, workbench=False)"
        )
    babel = app.extensions.get("babel")
    if babel is not None and babel.instance is not i18n.babel:
        raise InvalidConfig(
            "the app has its own Flask-Babel and an app has only one configuration: "
            "mount fenxiao with Fenxiao(app, workbench=False)"
        )
    filters, globals_ = _jinja_names()
    taken = sorted(
        [f"filter {name!r}" for name in filters & app.jinja_env.filters.keys()]
        + [f"global {name!r}" for name in globals_ & app.jinja_env.globals.keys()]
    )
    if taken:
        raise InvalidConfig(
            f"the workbench would replace the app's Jinja {', '.join(taken)}: rename yours, "
            "or mount fenxiao with Fenxiao(app, workbench=False)"
        )


@functools.cache
def _jinja_names() -> tuple[frozenset[str], frozenset[str]]:
    """The Jinja filters and globals the workbench adds to an app (its own and Flask-Babel's)."""
    bare, probe = Flask(__name__), Flask(__name__)
    i18n.init_babel(probe, [each.domain for each in AREAS])
    return (
        frozenset(probe.jinja_env.filters.keys() - bare.jinja_env.filters.keys()),
        frozenset(probe.jinja_env.globals.keys() - bare.jinja_env.globals.keys()),
    )


def _still_ours() -> None:
    """A LoginManager or Flask-Babel set up on the app after fenxiao would take over the
    workbench's logins or languages: refuse to serve it rather than let a host user in."""
    babel = current_app.extensions.get("babel")
    if (
        getattr(current_app, "login_manager", None) is not extensions.login_manager
        or getattr(babel, "instance", None) is not i18n.babel
    ):
        raise RuntimeError("a Flask-Login or Flask-Babel of its own was set up on the app after fenxiao")
