"""The shop's users: list, add, change a role, disable and enable (never one's own account)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin import security
from admin.forms.settings import AddUserForm, RoleForm, role_choices
from admin.views.settings.common import attach, bp, private
from plugin import runtime
from plugin.errors import InvalidSetting
from plugin.users import accounts
from plugin.users.roles import Permission


def _explain(err: InvalidSetting):
    if isinstance(err, accounts.OwnAccount):
        return (
            _("You cannot change your own role.")
            if err.field == "role"
            else _("You cannot disable your own account.")
        )
    return {
        "email": _("Enter an e-mail address that has no account yet."),
        "password": _("A password needs %(n)s to 200 characters.", n=accounts.MIN_PASSWORD),
        "role": _("Pick one of the roles."),
    }.get(err.field, err.message)


def _page(form=None, status: int = 200, row_errors: dict | None = None):
    with runtime.for_request().database.read() as session:
        users = accounts.users_of(session, security.current_shop_id())
    return private(
        "settings/users.html",
        status,
        form=form or AddUserForm(formdata=None),
        users=users,
        roles=role_choices(),
        row_errors=row_errors or {},
        me=current_user.id,
    )


@bp.route("/users")
@security.requires(Permission.USERS)
def users():
    return _page()


@bp.route("/users", methods=["POST"])
@security.requires(Permission.USERS)
def add_user():
    form = AddUserForm()
    if not form.validate():
        return _page(form, 400)
    try:
        with runtime.for_request().database.transaction() as session:
            user = accounts.add_user(
                session,
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                shop_id=security.current_shop_id(),
                actor=security.actor(),
            )
    except InvalidSetting as err:
        if not attach(form, err, _explain(err)):
            attach(form, InvalidSetting(err.message, "email"), _explain(err))
        return _page(form, 400)
    flash(_("%(email)s can log in now.", email=user.email), "success")
    return redirect(url_for("admin_settings.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@security.requires(Permission.USERS)
def change_role(user_id: int):
    form = RoleForm()
    try:
        with runtime.for_request().database.transaction() as session:
            changed = accounts.set_role(
                session,
                security.current_shop_id(),
                user_id,
                form.role.data,
                acting_user_id=current_user.id,
                actor=security.actor(),
            )
    except InvalidSetting as err:
        if isinstance(err, accounts.OwnAccount) or err.field == "role":
            return _page(status=400, row_errors={user_id: _explain(err)})
        raise
    flash(_("Role changed.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("admin_settings.users"))


def _set_active(user_id: int, active: bool):
    try:
        with runtime.for_request().database.transaction() as session:
            changed = accounts.set_active(
                session,
                security.current_shop_id(),
                user_id,
                active,
                acting_user_id=current_user.id,
                actor=security.actor(),
            )
    except accounts.OwnAccount as err:
        return _page(status=400, row_errors={user_id: _explain(err)})
    if changed:
        flash(_("User enabled.") if active else _("User disabled: their sessions end now."), "success")
    else:
        flash(_("Nothing changed."), "success")
    return redirect(url_for("admin_settings.users"))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@security.requires(Permission.USERS)
def disable_user(user_id: int):
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@security.requires(Permission.USERS)
def enable_user(user_id: int):
    return _set_active(user_id, True)
