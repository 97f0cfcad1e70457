"""The shop's API keys: list, create (the key is shown once), revoke after a confirmation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from admin import security
from admin.forms.settings import ApiKeyForm
from admin.views.settings.common import attach, bp, private
from plugin import runtime
from plugin.errors import InvalidSetting, NotFound
from plugin.shops import apikeys
from plugin.shops.models import ApiKey
from plugin.users.roles import Permission


def _page(form, status: int = 200, new_key: str | None = None):
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        keys = apikeys.keys_of(session, shop.id)
    return private("settings/keys.html", status, form=form, keys=keys, new_key=new_key)


def _key_of_shop(session, shop_id: int, key_id: int) -> ApiKey:
    found = session.get(ApiKey, key_id)
    if found is None or found.shop_id != shop_id:
        raise NotFound(f"no API key {key_id} in this shop", "key_id")
    return found


@bp.route("/keys")
def keys():
    return _page(ApiKeyForm())


@bp.route("/keys", methods=["POST"])
@security.requires(Permission.SETTINGS)
def create_key():
    form = ApiKeyForm()
    if not form.validate():
        return _page(form, 400)
    try:
        with runtime.for_request().database.transaction() as session:
            made = apikeys.create_key(
                session, security.current_shop_id(), form.name.data, actor=security.actor()
            )
    except InvalidSetting as err:
        attach(form, err, _("A key needs a name (1 to 100 characters)."))
        return _page(form, 400)
    flash(_("API key “%(name)s” created.", name=made.row.name), "success")
    return _page(ApiKeyForm(formdata=None), new_key=made.key)


@bp.route("/keys/<int:key_id>/revoke")
def confirm_revoke(key_id: int):
    with runtime.for_request().database.read() as session:
        key = _key_of_shop(session, security.current_shop_id(), key_id)
    return render_template("settings/revoke.html", key=key)


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@security.requires(Permission.SETTINGS)
def revoke_key(key_id: int):
    with runtime.for_request().database.transaction() as session:
        revoked = apikeys.revoke_key(session, security.current_shop_id(), key_id, actor=security.actor())
    flash(_("API key revoked.") if revoked else _("That key was revoked already."), "success")
    return redirect(url_for("admin_settings.keys"))
