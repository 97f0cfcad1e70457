"""The shop's distribution settings, its webhook URL and the rotation of its signing secret."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin import security
from admin.forms.settings import DOMAIN_FIELDS, ShopSettingsForm
from admin.views.settings.common import attach, bp, private
from plugin import runtime
from plugin.db import utcnow
from plugin.errors import InvalidSetting
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
    now = utcnow()
    grace = [expires for _secret, expires in stored if expires is not None and expires > now]
    webhook_url = request.host_url.rstrip("/") + f"/webhooks/{shop.platform}/{shop.id}"
    return private(
        "settings/index.html",
        status,
        form=form,
        shop=shop,
        webhook_url=webhook_url,
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
