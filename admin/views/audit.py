"""The audit log: who did what to which object, and when, filtered and newest first.

Every role may read it. The filters are exact (``plugin.audit.search``) and live in the URL; the
date range is read in the shop's time zone. Known actions are shown in words, any other by its
name, so an action added later still shows.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin import security
from admin.area import Area, Tab, blueprint
from admin.forms.audit import AuditFilterForm
from plugin import runtime
from plugin.audit import search
from plugin.errors import InvalidSetting
from plugin.users.roles import Permission

bp = blueprint("audit", "/audit")
area = Area(bp, "audit", Tab("admin_audit.index", _l("Audit log"), Permission.READ))

ACTIONS = {
    "user.login": _l("logged in"),
    "user.entered_shop": _l("entered the shop (superuser)"),
    "user.added": _l("added a user"),
    "user.role_changed": _l("changed a user's role"),
    "user.disabled": _l("disabled a user"),
    "user.enabled": _l("enabled a user"),
    "shop.created": _l("created the shop"),
    "shop.settings_changed": _l("changed the shop settings"),
    "shop.secret_rotated": _l("rotated the webhook secret"),
    "api_key.created": _l("created an API key"),
    "api_key.revoked": _l("revoked an API key"),
    "rules.published": _l("published commission rules"),
    "rules.rolled_back": _l("rolled the commission rules back"),
    "categories.replaced": _l("replaced the category tree"),
    "distributor.approved": _l("approved a distributor"),
    "distributor.suspended": _l("suspended a distributor"),
    "distributor.reinstated": _l("reinstated a distributor"),
    "distributor.updated": _l("changed a distributor"),
    "binding.created": _l("bound a member to an inviter"),
    "binding.refused": _l("refused a binding"),
    "order.paid": _l("order paid"),
    "order.completed": _l("order completed"),
    "order.closed": _l("order closed"),
    "order.refund_recorded": _l("recorded a refund"),
    "commission.accrued": _l("commission accrued"),
    "commission.reversed": _l("commission reversed"),
    "commission.settled": _l("commission settled"),
    "settlement.run": _l("ran settlement"),
    "inbox.replayed": _l("replayed a webhook delivery"),
}
SUBJECTS = {
    "member": _l("distributor"),
    "order": _l("order"),
    "rule_set": _l("rule set"),
    "commission": _l("commission"),
    "user": _l("user"),
    "api_key": _l("API key"),
    "shop": _l("shop"),
    "inbox_event": _l("webhook delivery"),
}
# Objects that have a page of their own in the workbench (other areas serve them).
LINKS = {
    "member": ("admin_distributors.show", "member_id"),
    "order": ("admin_orders.detail", "order_id"),
    "rule_set": ("admin_rules.show", "number"),
}
# Keys of an event's data that hold minor units of the shop's currency.
MONEY_KEYS = frozenset({"amount", "reversed_total", "arrears_repaid"})


def subject_link(subject_type: str, subject_id: str) -> str | None:
    target = LINKS.get(subject_type)
    if target is None or not subject_id.isdigit():
        return None
    endpoint, argument = target
    return url_for(endpoint, **{argument: int(subject_id)})


@bp.route("/")
def index():
    shop = security.current_shop()
    form = AuditFilterForm(request.args)
    status = 200
    with runtime.for_request().database.read() as session:
        present = search.actions_present(session, shop.id)
        chosen = request.args.get("action", "")
        form.action.choices = [("", _l("All actions"))] + [
            (name, f"{ACTIONS[name]} ({name})" if name in ACTIONS else name)
            for name in sorted({*present, *([chosen] if chosen else [])})
        ]
        form.subject_type.choices = [("", _l("Any object"))] + list(SUBJECTS.items())
        page = search.AuditPage([], None)
        if form.validate():
            try:
                since, until = search.local_days(shop.timezone, form.date_from.data, form.date_to.data)
                before = search.Cursor.parse(form.before.data) if form.before.data else None
                page = search.search(
                    session,
                    shop.id,
                    actor=(form.actor.data or "").strip() or None,
                    action=form.action.data or None,
                    subject_type=form.subject_type.data or None,
                    subject_id=(form.subject_id.data or "").strip() or None,
                    since=since,
                    until=until,
                    before=before,
                )
            except InvalidSetting as err:
                form[err.field].errors = [
                    _l("The range ends before it starts.")
                    if err.field == "date_to"
                    else _l("This page link is not valid; start again from the newest.")
                ]
                status = 400
        else:
            status = 400
    filters = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        filters=filters,
        first_page=not form.before.data,
        actions=ACTIONS,
        subjects=SUBJECTS,
        subject_link=subject_link,
        money_keys=MONEY_KEYS,
        currency=shop.currency,
    ), status
