"""Order Settlement (being built: this page is replaced by the area's real views)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("orders", "/orders")
area = Area(bp, "orders", Tab("admin_orders.index", _l("Order Settlement"), Permission.READ))


@bp.route("/")
def index():
    return render_template("orders/index.html")
