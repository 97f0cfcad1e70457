"""Recent webhook deliveries with their outcome, newest first, and the replay of a dead one."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin import security
from admin.views.settings.common import bp, private
from plugin import runtime
from plugin.audit.search import Cursor
from plugin.errors import InvalidSetting, InvalidTransition
from plugin.inbox import deliveries as inbox_deliveries
from plugin.platforms import connections
from plugin.users.roles import Permission

OUTCOMES = {
    "received": _l("waiting"),
    "processed": _l("processed"),
    "ignored": _l("ignored"),
    "failed": _l("failed (will retry)"),
    "dead": _l("dead"),
}


@bp.route("/deliveries")
def deliveries():
    shop = security.current_shop()
    status = request.args.get("status", "")
    before = request.args.get("before", "")
    try:
        cursor = Cursor.parse(before) if before else None
        with runtime.for_request().database.read() as session:
            page = inbox_deliveries.recent(session, shop.id, status=status or None, before=cursor)
        code = 200
    except InvalidSetting as err:
        page, code = inbox_deliveries.DeliveryPage([], None), 400
        flash(
            _("Pick an outcome from the list.")
            if err.field == "status"
            else _("This page link is not valid; start again from the newest."),
            "error",
        )
    return private(
        "settings/deliveries.html",
        code,
        page=page,
        chosen=status if status in OUTCOMES else "",
        outcomes=OUTCOMES,
        first_page=not before,
    )


@bp.route("/deliveries/<int:event_id>/replay", methods=["POST"])
@security.requires(Permission.SETTINGS)
def replay(event_id: int):
    """Process a dead delivery again now (audited ``inbox.replayed``) and say how it went."""
    database = runtime.for_request().database
    try:
        outcome = inbox_deliveries.replay(
            database,
            security.current_shop_id(),
            event_id,
            actor=security.actor(),
            apis=connections.api_factory(runtime.for_request().config),
        )
    except InvalidTransition:
        flash(_("Only a dead delivery can be replayed."), "error")
        return redirect(url_for("admin_settings.deliveries"))
    label = OUTCOMES.get(outcome, outcome)
    flash(
        _("Delivery #%(id)s replayed: %(outcome)s.", id=event_id, outcome=label),
        "success" if outcome == "processed" else "error",
    )
    return redirect(url_for("admin_settings.deliveries"))
