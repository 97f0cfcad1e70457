"""What each role may do in the workbench: one table, read at a glance."""

from __future__ import annotations

import enum

from plugin.users.models import Role


class Permission(enum.StrEnum):
    READ = "read"
    DISTRIBUTORS = "distributors"  # approve, suspend, reinstate
    RULES = "rules"  # edit, simulate, publish, roll back
    SETTLEMENT = "settlement"  # run settlement now
    SETTINGS = "settings"  # shop settings, secrets, API keys, replays
    USERS = "users"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.DISTRIBUTORS, Permission.RULES}),
    Role.FINANCE: frozenset({Permission.READ, Permission.SETTLEMENT}),
    Role.ADMIN: frozenset(Permission),
}


def can(role: str, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission`` (an unknown role grants nothing)."""
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False
