"""Who is asking, for which shop, and may they: logins, roles, the current shop, CSRF.

Every workbench URL is scoped to the *current shop*: a shop's user always works in their own
shop; a platform superuser works in the shop they switched to. Objects are looked up with the
current shop's id, so an id of another shop's object is simply not found (404).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user

from admin.extensions import csrf, login_manager
from plugin import runtime
from plugin.errors import NotFound
from plugin.shops import tenants
from plugin.users import accounts
from plugin.users.roles import Permission, can

SHOP_KEY = "fenxiao_shop_id"
LOCALE_KEY = "fenxiao_locale"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` whenever the request came over HTTPS.

    Behind a proxy, gunicorn's ``forwarded_allow_ips`` turns ``X-Forwarded-Proto: https`` into
    the request's scheme.
    """

    def get_cookie_secure(self, app):
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


@dataclass(frozen=True)
class WorkbenchUser:
    """The logged-in user as Flask-Login sees it (a plain copy, detached from any session)."""

    id: int
    email: str
    role: str
    shop_id: int | None
    is_superuser: bool
    locale: str | None

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def can(self, permission: Permission) -> bool:
        return self.is_superuser or can(self.role, permission)

    @classmethod
    def of(cls, user) -> WorkbenchUser:
        return cls(user.id, user.email, user.role, user.shop_id, user.is_superuser, user.locale)


def init_login(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "admin_auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str):
    with runtime.for_request().database.read() as db_session:
        try:
            user = accounts.get_user(db_session, int(user_id))
        except (NotFound, ValueError):
            return None
        return WorkbenchUser.of(user) if user.active else None


def sign_in(user) -> None:
    """Start a fresh session for ``user`` (the old session's data is dropped: no fixation)."""
    language = session.get(LOCALE_KEY)
    session.clear()
    if language:
        session[LOCALE_KEY] = language
    login_user(WorkbenchUser.of(user))
    if user.shop_id is not None:
        session[SHOP_KEY] = user.shop_id


def sign_out() -> None:
    logout_user()
    session.clear()


def remember_language(locale: str) -> None:
    session[LOCALE_KEY] = locale


def actor() -> str:
    """How the audit log names the logged-in user."""
    return current_user.email


def current_shop_id() -> int | None:
    """The shop the request works in: the user's own, or the one a superuser switched to."""
    if not current_user.is_authenticated:
        return None
    if current_user.is_superuser:
        return session.get(SHOP_KEY)
    return current_user.shop_id


def switch_shop(shop_id: int) -> None:
    """A superuser's switch (anyone else only ever has their own shop)."""
    if not current_user.is_superuser:
        abort(403)
    session[SHOP_KEY] = shop_id


def current_shop():
    """The current shop's row (read once per request), or 404 if there is none to work in."""
    if "fenxiao_shop" not in g:
        shop_id = current_shop_id()
        if shop_id is None:
            abort(404)
        with runtime.for_request().database.read() as db_session:
            try:
                g.fenxiao_shop = tenants.get_shop(db_session, shop_id)
            except NotFound:
                abort(404)
    return g.fenxiao_shop


def guard(permission: Permission) -> object | None:
    """``before_request`` of every workbench blueprint: CSRF on every write; log in first; the
    blueprint's ``permission`` (403 without it).

    Views marked ``@public`` (the login form) skip the login check, never the CSRF check.
    """
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    view = request.endpoint and _view_function(request.endpoint)
    if getattr(view, "workbench_public", False) or (request.endpoint or "").endswith(".static"):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))
    if current_user.is_superuser and current_shop_id() is None and request.endpoint != "admin_auth.shops":
        return redirect(url_for("admin_auth.shops"))
    if not current_user.can(permission):
        abort(403)
    return None


def _view_function(endpoint: str):
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def public(view):
    view.workbench_public = True
    return view


def requires(permission: Permission):
    """Refuse (403) a user whose role does not grant ``permission``."""

    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        checked.workbench_permission = permission
        return checked

    return decorate
