"""Distributors (being built: this page is replaced by the area's real views)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("distributors", "/distributors")
area = Area(bp, "distributors", Tab("admin_distributors.index", _l("Distributors"), Permission.READ))


@bp.route("/")
def index():
    return render_template("distributors/index.html")
