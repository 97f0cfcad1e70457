"""What every workbench area shares: its blueprint (guarded, with HTML errors) and its tab."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from admin import security
from plugin.errors import NotFound
from plugin.users.roles import Permission


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: object  # a lazy string, translated when the page renders
    permission: Permission = Permission.READ


@dataclass(frozen=True)
class Area:
    blueprint: Blueprint
    domain: str  # its gettext catalog
    tab: Tab | None = None


ERRORS = {
    400: _l("The request could not be understood."),
    403: _l("Your role does not allow this."),
    404: _l("There is nothing here, or it belongs to another shop."),
    405: _l("This page does not accept that method."),
}


def blueprint(name: str, url_prefix: str, permission: Permission = Permission.READ, **options) -> Blueprint:
    """A workbench blueprint: login, ``permission`` (every view) and CSRF (every write) are
    checked before any view runs; errors are HTML pages. Views that change something add their
    own ``@security.requires``."""
    bp = Blueprint(
        f"admin_{name}", "admin", url_prefix=f"/admin{url_prefix}", template_folder="templates", **options
    )
    bp.before_request(lambda: security.guard(permission))
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(NotFound, lambda err: _error_page(404))
    for code in ERRORS:
        bp.register_error_handler(code, lambda err, code=code: _error_page(code))
    return bp


def _csrf_error(err):
    message = _l("The form expired or was not sent from this site. Go back, reload and try again.")
    return render_template("error.html", code=400, message=message), 400


def _error_page(code: int):
    return render_template("error.html", code=code, message=ERRORS[code]), code


def template_globals(areas: list[Area]) -> dict:
    """What ``base.html`` needs on every page: the tabs this user may open, the shop, the locale."""
    shop, tabs = None, []
    if current_user.is_authenticated and security.current_shop_id() is not None:
        shop = security.current_shop()
        tabs = [a.tab for a in areas if a.tab and current_user.can(a.tab.permission)]
    return {
        "workbench_tabs": tabs,
        "workbench_shop": shop,
        "current_locale": str(get_locale() or "en"),
        "role_names": ROLE_NAMES,
    }


ROLE_NAMES = {
    "viewer": _l("viewer"),
    "operator": _l("operator"),
    "finance": _l("finance"),
    "admin": _l("admin"),
}

# a distributor's accounts, and the ledger transactions commissions post, as the pages name them
ACCOUNT_LABELS = {
    "pending": _l("Pending"),
    "available": _l("Available"),
    "withdrawing": _l("Withdrawing"),
    "paid": _l("Paid out"),
    "arrears": _l("Arrears"),
}
COMMISSION_ENTRY_LABELS = {
    "accrue": _l("Commission earned"),
    "settle": _l("Settled after the after-sales window"),
    "cancel": _l("Cancelled by a refund before settlement"),
    "clawback": _l("Clawed back by a refund after settlement"),
}
