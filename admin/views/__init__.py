"""The workbench's areas, in the order of its tabs. Each area is one module with one blueprint,
its templates under ``admin/templates/<area>/`` and its catalog ``<area>.po``."""

from __future__ import annotations

from admin.views import audit, auth, dashboard, distributors, orders, rules, settings, tax, team, withdrawals

AREAS = [
    auth.area,
    dashboard.area,
    distributors.area,
    rules.area,
    orders.area,
    withdrawals.area,
    tax.area,
    team.area,
    audit.area,
    settings.area,
]
