"""The shop settings area's forms. The domain has the last word on every value: these forms
only turn text into the types it takes, and its ``InvalidSetting.field`` lands on the field."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from plugin.shops import tenants
from plugin.users.models import Role

# Domain field names that differ from the form's.
DOMAIN_FIELDS = {"commission_ceiling_bp": "commission_ceiling"}


def time_zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(tenants.known_timezones())]


def role_choices() -> list[tuple[str, object]]:
    labels = {
        Role.VIEWER: _l("viewer (reads everything)"),
        Role.OPERATOR: _l("operator (distributors, rules)"),
        Role.FINANCE: _l("finance (settlement)"),
        Role.ADMIN: _l("admin (users, shop settings)"),
    }
    return [(role.value, labels[role]) for role in Role]


def two_places(form, field) -> None:
    if field.data is not None and field.data != field.data.quantize(Decimal("0.01")):
        raise ValidationError(_l("Use at most 2 decimal places."))


class ShopSettingsForm(FlaskForm):
    # Choices are offered, but any value reaches the domain, which names what is wrong.
    tier_depth = SelectField(
        _l("Tier depth"),
        choices=[(1, "1"), (2, "2"), (3, "3")],
        coerce=int,
        validate_choice=False,
    )
    after_sales_days = IntegerField(_l("After-sales window (days)"), validators=[InputRequired()])
    timezone = SelectField(_l("Time zone"), choices=[], validate_choice=False)
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(max=3)])
    commission_ceiling = DecimalField(
        _l("Commission ceiling (% of a line)"), places=2, validators=[InputRequired(), two_places]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = time_zones()

    def ceiling_bp(self) -> int:
        return int(self.commission_ceiling.data.scaleb(2))


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])


class AddUserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=False)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=False)
