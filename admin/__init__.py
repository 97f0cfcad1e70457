"""The operators' workbench: server-rendered Flask pages under ``/admin``.

``init_app`` is called by the app factory (the only place that wires blueprints in). The
workbench reads and commands the plugin's domain; it owns no tables of its own.
"""

from __future__ import annotations

from flask import Flask

from admin import area, extensions, i18n, security
from admin.views import AREAS


def init_app(app: Flask, *, limiter_storage: str = "memory://") -> None:
    """Set the workbench up on ``app``: sessions, CSRF, languages, login throttling, blueprints."""
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
    security.init_login(app)
    i18n.init_babel(app)
    app.context_processor(area.template_globals)
    for each in AREAS:
        app.register_blueprint(each.blueprint)
