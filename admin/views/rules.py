"""Commission Rules (being built: this page is replaced by the area's real views)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("rules", "/rules")
area = Area(bp, "rules", Tab("admin_rules.index", _l("Commission Rules"), Permission.READ))


@bp.route("/")
def index():
    return render_template("rules/index.html")
