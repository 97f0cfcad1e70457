"""The Withdrawal Approval pages that read: the queue and a withdrawal's evidence.

Both are also rendered by the writes in ``actions`` when they refuse something (a form error, a
file the bank format refuses, the domain's four-eyes refusal), with the refusal on the page and
the domain's HTTP status.
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import admin.views.withdrawals.queue as queue
from admin import security
from admin.forms.withdrawals import (
    ANY,
    STATUS_LABELS,
    ApproveForm,
    BatchForm,
    QueueFilterForm,
    RejectForm,
    ResultFileForm,
)
from admin.views.withdrawals.blueprint import bp
from plugin import runtime
from plugin.audit import search
from plugin.errors import FenxiaoError
from plugin.withdrawals import lifecycle
from plugin.withdrawals.errors import FourEyes
from plugin.withdrawals.models import Withdrawal, WithdrawalApproval, WithdrawalStatus

W = WithdrawalStatus
MAX_ID = 2**63 - 1
KEPT = ("channel", "amount_from", "amount_to", "member", "date_from", "date_to")
BLOCKED = {
    "asked": _l("You asked for this withdrawal: someone else must approve it."),
    "approved": _l("You approved this already: a second finance user must approve it."),
}
BAD_POSITION = _l("That page of the list does not exist; start again from the first page.")


def four_eyes(withdrawal: Withdrawal, approvals: list[WithdrawalApproval], actor: str) -> str | None:
    """Why ``actor`` may not approve ``withdrawal`` (the domain's rule, shown before it refuses):
    ``"asked"``, ``"approved"``, or None."""
    if withdrawal.requested_by == actor:
        return "asked"
    if any(approval.actor == actor for approval in approvals):
        return "approved"
    return None


@bp.route("/")
def index():
    """The queue: filters in the query string, keyset pages (``after``/``before`` an id)."""
    return queue_page()


def queue_page(upload_form: ResultFileForm | None = None, status: int = 200):
    shop = security.current_shop()
    form = QueueFilterForm(formdata=request.args)
    page, counts, filters = None, {}, None
    if form.validate():
        try:
            after, before = _position(form.after.data), _position(form.before.data)
        except ValueError:
            form.form_errors.append(BAD_POSITION)
            status = 400
        else:
            filters = _filters(form, shop.timezone)
    else:
        status = 400
    with runtime.for_request().database.read() as session:
        if filters is not None:
            page = queue.page_of(session, shop.id, filters, after=after, before=before, limit=queue.PAGE_SIZE)
            counts = queue.counts(session, shop.id, filters)
        bank = queue.bank_counts(session, shop.id)
    kept = {name: request.args[name] for name in KEPT if request.args.get(name)}
    return render_template(
        "withdrawals/index.html",
        form=form,
        page=page,
        counts=counts,
        total=sum(counts.values()),
        statuses=list(STATUS_LABELS),
        chosen=form.status.data,
        any_status=ANY,
        kept=kept,
        paging={**kept, "status": form.status.data},
        oldest_first=queue.oldest_first(form.status.data),
        shop=shop,
        bank=bank,
        batch_form=BatchForm(formdata=None),
        upload_form=upload_form or ResultFileForm(formdata=None),
    ), status


def _position(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
        raise ValueError(text)
    return int(text)


def _filters(form: QueueFilterForm, timezone: str) -> queue.QueueFilter:
    since, until = search.local_days(timezone, form.date_from.data, form.date_to.data)
    member = (form.member.data or "").strip()
    return queue.QueueFilter(
        status=None if form.status.data == ANY else form.status.data,
        channel=form.channel.data or None,
        amount_from=getattr(form.amount_from, "fen", None),
        amount_to=getattr(form.amount_to, "fen", None),
        member_id=int(member) if member else None,
        since=since,
        until=until,
    )


@bp.route("/<int:withdrawal_id>")
def detail(withdrawal_id: int):
    return detail_page(withdrawal_id)


def detail_page(
    withdrawal_id: int,
    *,
    reject_form: RejectForm | None = None,
    refused: FenxiaoError | None = None,
    action: str = "approve",
    status: int = 200,
):
    """A withdrawal's evidence and its review buttons; ``refused``: the domain's refusal of
    ``action`` ("approve", "reject"), shown as the page's error."""
    if withdrawal_id > MAX_ID:
        abort(404)
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        found = queue.evidence(session, shop.id, withdrawal_id)
    withdrawal = found.withdrawal
    blocked = four_eyes(withdrawal, found.approvals, security.actor())
    return render_template(
        "withdrawals/detail.html",
        found=found,
        w=withdrawal,
        shop=shop,
        given=len(found.approvals),
        may_approve=withdrawal.status == W.VERIFIED,
        blocked=BLOCKED[blocked] if blocked else None,
        may_reject=withdrawal.status in lifecycle.HELD,
        approve_form=ApproveForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
        refusal=_refusal(refused, action, withdrawal, blocked) if refused else None,
    ), status


def _refusal(err: FenxiaoError, action: str, withdrawal: Withdrawal, blocked: str | None) -> str:
    """The domain's refusal in the reader's language (its own words are English)."""
    state = STATUS_LABELS.get(withdrawal.status, withdrawal.status)
    if isinstance(err, FourEyes):
        return str(BLOCKED[blocked]) if blocked else _("The four-eyes rule does not let you approve this.")
    if action == "reject":
        return _("This withdrawal cannot be rejected now. Its status: %(status)s.", status=state)
    return _("This withdrawal cannot be approved now. Its status: %(status)s.", status=state)
