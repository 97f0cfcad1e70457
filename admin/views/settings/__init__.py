"""Shop settings (admin only): the distribution settings, the webhook and its secret, API keys,
recent webhook deliveries with replay, and the shop's users. One blueprint, one page per part."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin.area import Area, Tab
from admin.views.settings import deliveries, general, keys, users
from admin.views.settings.common import bp
from plugin.users.roles import Permission

area = Area(bp, "settings", Tab("admin_settings.index", _l("Shop settings"), Permission.SETTINGS))
PAGES = (general, keys, deliveries, users)
