"""Setting the workbench up on an app: extensions, session cookie, languages, blueprints."""

from __future__ import annotations

import functools

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
    i18n.init_babel(app, [each.domain for each in AREAS])
    app.context_processor(functools.partial(area.template_globals, AREAS))
    for each in AREAS:
        app.register_blueprint(each.blueprint)
