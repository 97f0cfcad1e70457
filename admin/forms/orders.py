"""The Order Settlement tab's forms: the list's filters (a GET form) and the settlement button."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from plugin.orders.models import OrderStatus
from plugin.orders.queries import LISTED_STATUSES

STATUS_LABELS = {
    OrderStatus.CREATED: _l("created"),
    OrderStatus.PAID: _l("paid"),
    OrderStatus.COMPLETED: _l("completed"),
    OrderStatus.REFUNDED: _l("refunded"),
    OrderStatus.CLOSED: _l("closed"),
}


BAD_DATE = _l("Enter a date as YYYY-MM-DD.")


class OrderFilterForm(FlaskForm):
    """GET filters: no CSRF (reading changes nothing), values from the query string."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any status")),
            *(SelectChoice(s.value, STATUS_LABELS[s]) for s in LISTED_STATUSES),
        ],
        default="",
        validate_choice=True,
    )
    paid_from = DateField(_l("Paid from"), validators=[Optional()], invalid_value_message=BAD_DATE)
    paid_to = DateField(_l("Paid until"), validators=[Optional()], invalid_value_message=BAD_DATE)
    distributor = StringField(
        _l("Distributor (member id or invite code)"), validators=[Optional(), Length(max=64)]
    )
    has_commission = SelectField(
        _l("Commission"),
        choices=[
            SelectChoice("", _l("With or without")),
            SelectChoice("yes", _l("With commission")),
            SelectChoice("no", _l("Without commission")),
        ],
        default="",
    )
    after = HiddenField()
    before = HiddenField()

    def validate_paid_to(self, field):
        start, end = self.paid_from.data, field.data
        if isinstance(start, date) and isinstance(end, date) and start > end:
            raise ValidationError(_l("The last day comes before the first."))

    def has_commission_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.has_commission.data or "")


class SettleForm(FlaskForm):
    """The "run settlement now" button: nothing to fill in but the CSRF token."""
