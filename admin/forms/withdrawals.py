"""The Withdrawal Approval tab's forms: the queue's filters (a GET form), approve and reject, and
the bank batch's download and result upload.

Amounts are typed in yuan ("12.34") and reach the queries as fen through ``Money.parse``,
never through a float; a member id is digits only. Every message is the workbench's own, so the
page reads in one language (WTForms' built-in messages are not in the workbench's catalogs).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from adapters.money import Money
from plugin.withdrawals.limits import CHANNELS
from plugin.withdrawals.models import WithdrawalStatus
from plugin.withdrawals.review import REASON_LENGTH

W = WithdrawalStatus
ANY = "any"
DEFAULT_STATUS = W.VERIFIED.value  # the ones waiting for a person
STATUS_LABELS = {
    W.REQUESTED: _l("identity being checked"),
    W.VERIFIED: _l("waiting for approval"),
    W.APPROVED: _l("approved, payout starting"),
    W.PAYING: _l("payout sent"),
    W.PAID: _l("paid to the payee"),
    W.REJECTED: _l("rejected by review"),
    W.FAILED: _l("payout failed"),
}
CHANNEL_LABELS = {"wechat": _l("WeChat Pay"), "alipay": _l("Alipay"), "bank": _l("Bank transfer")}
BAD_DATE = _l("Enter a date as YYYY-MM-DD.")
BAD_AMOUNT = _l("Enter an amount in yuan, such as 100 or 99.50.")


def yuan(form, field) -> None:
    """An amount of at most 2 decimal places, 0 or more (``field.fen`` holds it in fen)."""
    field.fen = None
    text = (field.data or "").strip()
    if not text:
        return
    try:
        fen = Money.parse(text, "CNY").minor
    except (ValueError, TypeError):
        raise ValidationError(BAD_AMOUNT) from None
    if fen < 0 or fen >= 10**15:
        raise ValidationError(BAD_AMOUNT)
    field.fen = fen


class QueueFilterForm(FlaskForm):
    """GET filters: no CSRF (reading changes nothing), values from the query string."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            *(SelectChoice(s.value, STATUS_LABELS[s]) for s in W),
            SelectChoice(ANY, _l("Any status")),
        ],
        default=DEFAULT_STATUS,
    )
    channel = SelectField(
        _l("Channel"),
        choices=[
            SelectChoice("", _l("Any channel")),
            *(SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS),
        ],
        default="",
    )
    amount_from = StringField(_l("Amount from (yuan)"), validators=[Optional(), Length(max=20), yuan])
    amount_to = StringField(_l("Amount up to (yuan)"), validators=[Optional(), Length(max=20), yuan])
    member = StringField(
        _l("Member id"),
        validators=[Optional(), Regexp(r"^\d{1,18}$", message=_l("Enter a member id: digits only."))],
    )
    date_from = DateField(_l("Requested from"), validators=[Optional()], invalid_value_message=BAD_DATE)
    date_to = DateField(_l("Requested until"), validators=[Optional()], invalid_value_message=BAD_DATE)
    after = HiddenField()
    before = HiddenField()

    def validate_amount_to(self, field):
        low, high = getattr(self.amount_from, "fen", None), getattr(field, "fen", None)
        if low is not None and high is not None and low > high:
            raise ValidationError(_l("The highest amount is below the lowest."))

    def validate_date_to(self, field):
        start, end = self.date_from.data, field.data
        if isinstance(start, date) and isinstance(end, date) and start > end:
            raise ValidationError(_l("The last day comes before the first."))


class ApproveForm(FlaskForm):
    """The Approve button: nothing to fill in but the CSRF token."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the distributor sees it)"),
        validators=[
            DataRequired(_l("Say why: the distributor sees the reason.")),
            Length(max=REASON_LENGTH, message=_l("At most %(n)s characters.", n=REASON_LENGTH)),
        ],
    )


class BatchForm(FlaskForm):
    again = BooleanField(_l("Download the last batch again (the file was lost)"))


class ResultFileForm(FlaskForm):
    file = FileField(
        _l("The bank's result file (CSV)"),
        validators=[FileRequired(_l("Choose the bank's result file."))],
    )
