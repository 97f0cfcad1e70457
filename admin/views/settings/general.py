"""The shop's distribution settings, its webhook URL and the rotation of its signing secret."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin import security
from admin.forms.settings import DOMAIN_FIELDS, ShopSettingsForm
from admin.views.settings.common import attach, bp, private
from admin.views.settings.deliveries import OUTCOMES
from plugin import runtime
from plugin.db import utcnow
from plugin.errors import InvalidSetting
from plugin.inbox import deliveries as inbox_deliveries
from plugin.platforms import connections
from plugin.shops import tenants
from plugin.users.roles import Permission

# One sentence per field saying what the domain accepts (its own messages are English only).
RULES = {
    "tier_depth": _l("Tier depth must be 1, 2 or 3."),
    "after_sales_days": _l("The after-sales window must be 0 to 90 days."),
    "timezone": _l("Pick a time zone from the list."),
    "currency": _l("Use a 3-letter ISO-4217 code in capitals, such as CNY."),
    "commission_ceiling": _l("The ceiling must be 0.01 % to 100 % of a line."),
}


# Where each platform takes the webhook address (the shop's platform decides which one shows).
WHERE_TO_PASTE = {
    "shopify": _l("Shopify registers this address itself when the app is installed: use Install below."),
    "youzan": _l(
        "In the Youzan cloud console, open your app's message push settings and paste this address."
    ),
    "weimob": _l(
        "In the Weimob open platform, subscribe your app to order and after-sales messages with this address."
    ),
    "generic": _l("Post your order and refund events here, signed as the generic webhook format describes."),
}
INSTALL_STATES = {
    "not_configured": _l("not configured"),
    "new": _l("app recorded, not connected yet"),
    "pending": _l("install started, waiting for the platform"),
    "connected": _l("connected"),
    "disconnected": _l("disconnected: connect again"),
}
RECENT_DELIVERIES = 5


def _current_values(shop) -> dict:
    return {
        "tier_depth": shop.tier_depth,
        "after_sales_days": shop.after_sales_days,
        "timezone": shop.timezone,
        "currency": shop.currency,
        "commission_ceiling": Decimal(shop.commission_ceiling_bp).scaleb(-2),
    }


def _page(form, status: int = 200, new_secret: str | None = None):
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        stored = tenants.secrets_of(session, shop.id)
        install = connections.install_state(session, shop)
        recent = inbox_deliveries.recent(session, shop.id, limit=RECENT_DELIVERIES).deliveries
    now = utcnow()
    grace = [expires for _secret, expires in stored if expires is not None and expires > now]
    webhook_url = url_for("webhooks.receive", platform=shop.platform, shop_id=shop.id, _external=True)
    return private(
        "settings/index.html",
        status,
        form=form,
        shop=shop,
        webhook_url=webhook_url,
        where_to_paste=WHERE_TO_PASTE.get(shop.platform),
        install=install,
        install_label=INSTALL_STATES.get(install.status, install.status),
        recent=recent,
        outcomes=OUTCOMES,
        old_secret_until=max(grace) if grace else None,
        new_secret=new_secret,
        grace=tenants.ROTATION_GRACE,
    )


@bp.route("/")
def index():
    return _page(ShopSettingsForm(data=_current_values(security.current_shop())))


@bp.route("/", methods=["POST"])
@security.requires(Permission.SETTINGS)
def save():
    """Validate with the domain and save in one transaction; a refusal stores nothing (400)."""
    shop = security.current_shop()
    form = ShopSettingsForm()
    if not form.validate():
        return _page(form, 400)
    try:
        with runtime.for_request().database.transaction() as session:
            changes = tenants.update_settings(
                session,
                shop.id,
                tier_depth=form.tier_depth.data,
                after_sales_days=form.after_sales_days.data,
                timezone=form.timezone.data,
                currency=(form.currency.data or "").strip().upper(),
                commission_ceiling_bp=form.ceiling_bp(),
                actor=security.actor(),
            )
    except InvalidSetting as err:
        attach(form, err, _explain(err, shop))
        return _page(form, 400)
    runtime.for_request().credentials.forget(shop.id)  # intake reads the currency from it
    flash(_("Settings saved.") if changes else _("Nothing changed."), "success")
    return redirect(url_for("admin_settings.index"))


def _explain(err: InvalidSetting, shop):
    if isinstance(err, tenants.CurrencyLocked):
        return _(
            "The currency cannot change once the shop has orders: their amounts and every "
            "balance are kept in %(currency)s.",
            currency=shop.currency,
        )
    if isinstance(err, tenants.RulesDoNotFit):
        return _(
            "The active commission rules (v%(version)s) would break this setting: %(detail)s. "
            "Publish rules that fit first.",
            version=err.version,
            detail=err.detail,
        )
    return RULES.get(DOMAIN_FIELDS.get(err.field, err.field), err.message)


@bp.route("/secret", methods=["POST"])
@security.requires(Permission.SETTINGS)
def rotate_secret():
    """A new signing secret, shown once on the page it answers with; the old one keeps
    verifying for ``ROTATION_GRACE`` while the platform switches over."""
    shop = security.current_shop()
    with runtime.for_request().database.transaction() as session:
        secret = tenants.rotate_secret(session, shop.id, actor=security.actor())
    runtime.for_request().credentials.forget(shop.id)
    flash(_("A new webhook secret was made. Copy it now: it is not shown again."), "success")
    return _page(ShopSettingsForm(data=_current_values(shop)), new_secret=secret)
