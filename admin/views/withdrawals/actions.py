"""The Withdrawal Approval writes (POST, CSRF checked by the blueprint): approve, reject, download
the bank batch file, upload the bank's result file.

Decisions:
- The actor is the user's e-mail (``security.actor``), as every workbench write names its user:
  it is what the four-eyes rule compares, so one user's two sessions are still one person.
- A refusal of the domain (four-eyes 403, a withdrawal no longer waiting 409) re-renders the
  withdrawal's page with the refusal and that status, as the other areas show domain errors on
  the page they came from; nothing is written.
- The approval that makes a withdrawal ``approved`` queues its payout only after the commit
  (``tasks.move_withdrawal_on``). If queueing (or, with the inline queue, the payout itself)
  fails, the approval stands and the payout sweep moves it on; the user is told so.
- A batch download with no payout in it rolls back (no empty file, no audit event of nothing).
  The batch and the result file carry names and full account numbers: never cached.
"""

from __future__ import annotations

import logging

from flask import abort, flash, make_response, redirect, url_for
from flask_babel import gettext as _

from adapters.errors import AdapterError
from adapters.payouts.bank import BankFileError
from admin import security
from admin.forms.withdrawals import BatchForm, RejectForm, ResultFileForm
from admin.views.withdrawals.blueprint import bp
from admin.views.withdrawals.pages import MAX_ID, detail_page, queue_page
from plugin import runtime
from plugin.db import utcnow
from plugin.errors import FenxiaoError, InvalidSetting
from plugin.jobs import tasks
from plugin.shops.models import Shop
from plugin.withdrawals import batches, review
from plugin.withdrawals.errors import FourEyes, ReviewRefused
from plugin.withdrawals.keyring import keyring
from plugin.withdrawals.models import WithdrawalStatus

log = logging.getLogger(__name__)


class _EmptyBatch(Exception):
    """Raised inside the export's transaction to roll it back."""


@bp.route("/<int:withdrawal_id>/approve", methods=["POST"])
def approve(withdrawal_id: int):
    if withdrawal_id > MAX_ID:
        abort(404)
    shop = security.current_shop()
    rt = runtime.for_request()
    try:
        with rt.database.transaction() as session:
            withdrawal = review.approve(session, session.get(Shop, shop.id), withdrawal_id, security.actor())
            approved = withdrawal.status == WithdrawalStatus.APPROVED
            given, needed = len(review.approvals_of(session, withdrawal.id)), withdrawal.approvals_needed
    except (FourEyes, ReviewRefused) as refused:
        return detail_page(withdrawal_id, refused=refused, action="approve", status=refused.status)
    if not approved:
        flash(
            _(
                "Your approval is recorded (%(given)s of %(needed)s): "
                "a second finance user must approve it too.",
                given=given,
                needed=needed,
            ),
            "success",
        )
    elif _move_on(rt, withdrawal_id):
        flash(_("Withdrawal %(id)s is approved: its payout is on its way.", id=withdrawal_id), "success")
    else:
        flash(
            _(
                "Withdrawal %(id)s is approved. Its payout could not be started now; "
                "the payout sweep starts it within minutes.",
                id=withdrawal_id,
            ),
            "info",
        )
    return redirect(url_for("admin_withdrawals.detail", withdrawal_id=withdrawal_id))


def _move_on(rt: runtime.Runtime, withdrawal_id: int) -> bool:
    try:
        return tasks.move_withdrawal_on(rt, withdrawal_id, "approved")
    except (FenxiaoError, AdapterError):
        log.exception("withdrawal %s: its payout did not start; the payout sweep starts it", withdrawal_id)
        return False


@bp.route("/<int:withdrawal_id>/reject", methods=["POST"])
def reject(withdrawal_id: int):
    if withdrawal_id > MAX_ID:
        abort(404)
    shop = security.current_shop()
    form = RejectForm()
    if not form.validate():
        return detail_page(withdrawal_id, reject_form=form, status=400)
    try:
        with runtime.for_request().database.transaction() as session:
            review.reject(
                session, session.get(Shop, shop.id), withdrawal_id, security.actor(), form.reason.data
            )
    except InvalidSetting:  # the domain's own check of the reason
        form.reason.errors = [_("Say why: the distributor sees the reason.")]
        return detail_page(withdrawal_id, reject_form=form, status=400)
    except ReviewRefused as refused:
        return detail_page(withdrawal_id, refused=refused, action="reject", status=refused.status)
    flash(
        _(
            "Withdrawal %(id)s is rejected: the amount is back in the distributor's balance.",
            id=withdrawal_id,
        ),
        "success",
    )
    return redirect(url_for("admin_withdrawals.detail", withdrawal_id=withdrawal_id))


@bp.route("/bank-batch", methods=["POST"])
def bank_batch():
    """The bank batch file as a download: the bank payouts not exported yet (or, ``again``, the
    ones exported and still unanswered)."""
    shop = security.current_shop()
    rt = runtime.for_request()
    again = bool(BatchForm().again.data)
    try:
        with rt.database.transaction() as session:
            data, count = batches.export(
                session, session.get(Shop, shop.id), keyring(rt.config), security.actor(), again=again
            )
            if not count:
                raise _EmptyBatch
    except _EmptyBatch:
        if again:
            flash(_("No exported bank payout is still waiting for the bank's result."), "info")
        else:
            flash(_("No bank payout is waiting for a batch file."), "info")
        return redirect(url_for("admin_withdrawals.index"))
    except (FenxiaoError, AdapterError) as refused:
        flash(
            _("The batch file could not be made; nothing changed. %(reason)s", reason=refused.message),
            "error",
        )
        return redirect(url_for("admin_withdrawals.index"))
    response = make_response(data)
    name = f"bank-batch-{shop.id}-{utcnow():%Y%m%d-%H%M%S}{'-again' if again else ''}.csv"
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/bank-results", methods=["POST"])
def bank_results():
    """Apply the bank's result file, whole or not at all."""
    shop = security.current_shop()
    form = ResultFileForm()
    if not form.validate():
        return queue_page(upload_form=form, status=400)
    data = form.file.data.read()  # the app's body limit (FENXIAO_MAX_BODY_BYTES) bounds it
    try:
        with runtime.for_request().database.transaction() as session:
            counts = batches.import_results(session, session.get(Shop, shop.id), data, security.actor())
    except BankFileError as refused:
        form.file.errors = [
            _("The file was refused and nothing was applied. %(reason)s", reason=refused.message)
        ]
        return queue_page(upload_form=form, status=400)
    flash(
        _(
            "The bank's results are applied: %(succeeded)s paid, %(failed)s failed, "
            "%(pending)s still waiting.",
            **counts,
        ),
        "success",
    )
    return redirect(url_for("admin_withdrawals.index"))
