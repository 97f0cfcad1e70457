"""The audit log's filter form (a GET form: no CSRF token, every field optional)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # reading: the filters live in the URL so a filtered page can be shared

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=200)])
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    subject_type = SelectField(_l("Object type"), choices=[], validate_choice=False)
    subject_id = StringField(_l("Object id"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    before = HiddenField()
