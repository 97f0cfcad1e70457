"""Shop settings (being built: this page is replaced by the area's real views)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("settings", "/settings", Permission.SETTINGS)
area = Area(bp, "settings", Tab("admin_settings.index", _l("Shop settings"), Permission.SETTINGS))


@bp.route("/")
def index():
    return render_template("settings/index.html")
