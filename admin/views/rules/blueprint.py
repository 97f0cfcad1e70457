"""The Commission Rules blueprint and tab: every role reads; editing needs ``Permission.RULES``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab, blueprint
from plugin.users.roles import Permission

bp = blueprint("rules", "/rules")
area = Area(bp, "rules", Tab("admin_rules.index", _l("Commission Rules"), Permission.READ))
