"""Audit log (being built: this page is replaced by the area's real views)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("audit", "/audit")
area = Area(bp, "audit", Tab("admin_audit.index", _l("Audit log"), Permission.READ))


@bp.route("/")
def index():
    return render_template("audit/index.html")
