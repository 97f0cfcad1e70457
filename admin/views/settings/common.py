"""What the settings area's pages share: the blueprint (admin only) and domain errors on fields."""

from __future__ import annotations

from flask import make_response, render_template

from admin.area import blueprint
from admin.forms.settings import DOMAIN_FIELDS
from plugin.errors import FenxiaoError
from plugin.users.roles import Permission

bp = blueprint("settings", "/settings", Permission.SETTINGS)


def attach(form, err: FenxiaoError, message) -> bool:
    """Put ``message`` on the form field the domain error names; False if the form has none."""
    name = DOMAIN_FIELDS.get(err.field, err.field)
    if not name or name not in form:
        return False
    form[name].errors = [*(form[name].errors or []), message]
    return True


def private(template: str, status: int = 200, **context):
    """A page that shows a secret once: never stored by the browser or a proxy."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response
