"""Adding users, checking passwords and remembering each user's language.

Passwords are hashed with Argon2id (argon2-cffi, its default parameters); a hash made with
older parameters is replaced at the next successful login.
"""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.db import utcnow
from plugin.errors import InvalidSetting, NotFound
from plugin.shops.tenants import get_shop
from plugin.users.models import Role, User

MIN_PASSWORD = 10
LOCALES = ("en", "zh_CN")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the e-mail is unknown keeps "no such user" as slow as "wrong
    password" (made on first use: hashing costs every command's start otherwise)."""
    return _hasher.hash("not a password of anyone")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 200:
        raise InvalidSetting(f"a password needs {MIN_PASSWORD} to 200 characters", "password")


def add_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    shop_id: int | None = None,
    superuser: bool = False,
    locale: str | None = None,
    actor: str = trail.SYSTEM,
) -> User:
    """Create a user of ``shop_id`` (or a platform superuser, who has no shop).

    Raises:
        InvalidSetting: a malformed or taken e-mail, a short password, an unknown role or locale.
        NotFound: no such shop.
    """
    email = normalize_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidSetting(f"not an e-mail address: {email!r}", "email")
    if role not in set(Role):
        raise InvalidSetting(f"role must be one of {', '.join(Role)} (got {role!r})", "role")
    if locale is not None and locale not in LOCALES:
        raise InvalidSetting(f"language must be one of {', '.join(LOCALES)}", "locale")
    check_password(password)
    if superuser == (shop_id is not None):
        raise InvalidSetting("a user belongs to exactly one shop, or is a superuser of none", "shop_id")
    if shop_id is not None:
        get_shop(session, shop_id)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise InvalidSetting(f"{email} already has an account", "email")
    user = User(
        shop_id=shop_id,
        email=email,
        password_hash=_hasher.hash(password),
        role=Role.ADMIN if superuser else role,
        is_superuser=superuser,
        locale=locale,
    )
    session.add(user)
    session.flush()
    if shop_id is not None:
        trail.record(session, shop_id, "user.added", "user", user.id, actor=actor, email=email, role=role)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same work either way)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", "user_id")
    return user


def users_of(session: Session, shop_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.shop_id == shop_id).order_by(User.id)))


def set_locale(session: Session, user_id: int, locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise InvalidSetting(f"language must be one of {', '.join(LOCALES)}", "locale")
    get_user(session, user_id).locale = locale


class OwnAccount(InvalidSetting):
    """An admin tried to demote or disable themselves."""


def user_of_shop(session: Session, shop_id: int, user_id: int, *, lock: bool = False) -> User:
    """One of the shop's users (a user of another shop, or a superuser, is not found)."""
    query = select(User).where(User.id == user_id, User.shop_id == shop_id)
    if lock:
        query = query.with_for_update()
    user = session.scalar(query)
    if user is None:
        raise NotFound(f"no user {user_id} in this shop", "user_id")
    return user


def set_role(
    session: Session, shop_id: int, user_id: int, role: str, *, acting_user_id: int | None, actor: str
) -> bool:
    """Give one of the shop's users another role (audited ``user.role_changed``); False if it
    was their role already.

    An admin cannot change their own role: demoting oneself could leave the shop with no one
    able to manage its users, and a slip of the select box should not lock anyone out.

    Raises:
        InvalidSetting: an unknown role, or the acting user's own account (field ``role``).
        NotFound: no such user in this shop.
    """
    if role not in set(Role):
        raise InvalidSetting(f"role must be one of {', '.join(Role)} (got {role!r})", "role")
    user = user_of_shop(session, shop_id, user_id, lock=True)
    if user.id == acting_user_id:
        raise OwnAccount("you cannot change your own role", "role")
    if user.role == role:
        return False
    before, user.role = user.role, role
    trail.record(
        session,
        shop_id,
        "user.role_changed",
        "user",
        user.id,
        actor=actor,
        email=user.email,
        before=before,
        after=role,
    )
    return True


def set_active(
    session: Session, shop_id: int, user_id: int, active: bool, *, acting_user_id: int | None, actor: str
) -> bool:
    """Disable or enable one of the shop's users (audited ``user.disabled`` / ``user.enabled``);
    False if they were so already. A disabled user's open sessions end at their next request.

    Raises:
        InvalidSetting: the acting user's own account (field ``active``).
        NotFound: no such user in this shop.
    """
    user = user_of_shop(session, shop_id, user_id, lock=True)
    if user.id == acting_user_id:
        raise OwnAccount("you cannot disable your own account", "active")
    if user.active == active:
        return False
    user.active = active
    action = "user.enabled" if active else "user.disabled"
    trail.record(session, shop_id, action, "user", user.id, actor=actor, email=user.email)
    return True
