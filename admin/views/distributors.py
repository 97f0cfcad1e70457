"""Distributors: the searchable list with this month's figures, a distributor's page (balances,
ledger with sources, inviters, direct invitees) and the status changes with a reason.

Reading is open to every role; approving, rejecting, suspending and reinstating need
``Permission.DISTRIBUTORS`` (operator, admin). Queries live in ``plugin.members.roster``, the
status machine in ``plugin.members.directory``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin import security
from admin.area import ACCOUNT_LABELS, COMMISSION_ENTRY_LABELS, Area, Tab, blueprint
from plugin import runtime
from plugin.errors import InvalidSetting, InvalidTransition
from plugin.members import directory, roster
from plugin.users.roles import Permission

bp = blueprint("distributors", "/distributors")
area = Area(bp, "distributors", Tab("admin_distributors.index", _l("Distributors"), Permission.READ))

MAX_ID = 2**63 - 1
STATUS_LABELS = {
    "applied": _l("Applied"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "suspended": _l("Suspended"),
}
ACTION_LABELS = {
    "approve": _l("Approve"),
    "reject": _l("Reject"),
    "suspend": _l("Suspend"),
    "reinstate": _l("Reinstate"),
}
SORT_LABELS = {"joined": _l("Joined, newest first"), "gmv": _l("This month's GMV, highest first")}
BINDING_SOURCES = {
    "invite_code": _l("invite code"),
    "link": _l("invite link"),
    "qr": _l("QR code"),
    "order_ref": _l("referred order"),
}
HISTORY_LABELS = {
    "distributor.approved": _l("Approved"),
    "distributor.rejected": _l("Rejected"),
    "distributor.suspended": _l("Suspended"),
    "distributor.reinstated": _l("Reinstated"),
    "distributor.updated": _l("Level or region changed"),
}
REASON_REQUIRED = _l("Give a reason: it is kept in the audit log.")


@bp.context_processor
def labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "account_labels": ACCOUNT_LABELS,
        "source_labels": COMMISSION_ENTRY_LABELS,
        "binding_sources": BINDING_SOURCES,
        "history_labels": HISTORY_LABELS,
        "count_limit": roster.COUNT_LIMIT,
    }


class FilterForm(FlaskForm):
    """The list's search and filters (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()])
    level = StringField(_l("Level"), validators=[Optional(), Length(max=16)])
    sort = SelectField(_l("Sort by"), choices=list(SORT_LABELS.items()), default="joined")


class StatusForm(FlaskForm):
    action = SelectField(_l("Action"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(REASON_REQUIRED), Length(max=directory.MAX_REASON)],
    )


def _filter_form() -> FilterForm:
    form = FilterForm(request.args)
    form.status.choices = [("", _l("Any status")), *STATUS_LABELS.items()]
    if not form.sort.data:
        form.sort.data = "joined"
    return form


@bp.route("/")
def index():
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        form = _filter_form()
        if not form.validate():
            return render_template("distributors/index.html", form=form, page=None, shop=shop), 400
        try:
            page = roster.roster(
                session,
                shop,
                search=form.q.data or "",
                status=form.status.data or None,
                level=form.level.data or None,
                sort=form.sort.data,
                after=request.args.get("after"),
                before=request.args.get("before"),
                limit=roster.PAGE_SIZE,
            )
        except InvalidSetting:
            abort(400)
    args = {
        k: v for k, v in (("q", form.q.data), ("status", form.status.data), ("level", form.level.data)) if v
    }
    return render_template("distributors/index.html", form=form, page=page, shop=shop, args=args)


def _member_id(member_id: int) -> int:
    if member_id > MAX_ID:
        abort(404)
    return member_id


def _page_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) > MAX_ID:
        abort(400)
    return int(raw)


def _render_page(member_id: int, form: StatusForm, status: int = 200):
    shop = security.current_shop()
    before = _page_arg("before", None)
    invitee_page = _page_arg("page", 1) or 1
    with runtime.for_request().database.read() as session:
        person = roster.profile(session, shop, member_id)
        entries = roster.ledger(session, shop, member_id, before=before)
        invitees = roster.invitees(session, shop, member_id, page=invitee_page)
    actions = directory.status_actions(person.status)
    form.action.choices = [(a, ACTION_LABELS[a]) for a in actions]
    may_change = current_user.can(Permission.DISTRIBUTORS) and bool(actions)
    return (
        render_template(
            "distributors/show.html",
            shop=shop,
            person=person,
            entries=entries,
            invitees=invitees,
            form=form,
            may_change=may_change,
            before=before,
        ),
        status,
    )


@bp.route("/<int:member_id>")
def show(member_id: int):
    return _render_page(_member_id(member_id), StatusForm(formdata=None))


@bp.route("/<int:member_id>/status", methods=["POST"])
@security.requires(Permission.DISTRIBUTORS)
def change_status(member_id: int):
    member_id = _member_id(member_id)
    shop = security.current_shop()
    form = StatusForm()
    form.action.choices = [(a, ACTION_LABELS[a]) for a in directory.STATUS_ACTIONS]
    if not form.validate():
        return _render_page(member_id, form, 400)
    try:
        with runtime.for_request().database.transaction() as session:
            changed = directory.change_status(
                session, shop.id, member_id, form.action.data, reason=form.reason.data, actor=security.actor()
            )
    except (InvalidSetting, InvalidTransition) as refused:  # the form checked the rest
        if refused.field == "reason":
            form.reason.errors = [REASON_REQUIRED]
        else:
            form.action.errors = [_("This action does not apply to the distributor's status now.")]
        return _render_page(member_id, form, 400)
    if changed:
        flash(_("Status changed: %(action)s.", action=ACTION_LABELS[form.action.data]), "success")
    else:
        flash(_("Nothing to change: the distributor already has that status."), "info")
    return redirect(url_for("admin_distributors.show", member_id=member_id))
