"""API keys of a shop's JSON API: create (the key is shown once), list, revoke, authenticate."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.db import utcnow
from plugin.errors import InvalidSetting, NotFound
from plugin.shops.models import ApiKey

PREFIX_CHARS = 10


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    key: str  # in clear: the only time anyone sees it


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_key(
    session: Session, shop_id: int, name: str, *, key: str | None = None, actor: str = trail.SYSTEM
) -> NewKey:
    """A new key for the shop's API, named so an operator can tell it apart."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise InvalidSetting("a key needs a name (1 to 100 characters)", "name")
    key = key or "fx_" + secrets.token_urlsafe(24)
    row = ApiKey(
        shop_id=shop_id, name=name, prefix=key[:PREFIX_CHARS], key_hash=hash_key(key), created_by=actor
    )
    session.add(row)
    session.flush()
    trail.record(session, shop_id, "api_key.created", "api_key", row.id, actor=actor, name=name)
    return NewKey(row, key)


def keys_of(session: Session, shop_id: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id).order_by(ApiKey.id.desc())))


def revoke_key(session: Session, shop_id: int, key_id: int, *, actor: str = trail.SYSTEM) -> bool:
    """Revoke one of the shop's keys; False if it was revoked already."""
    row = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == shop_id).with_for_update()
    )
    if row is None:
        raise NotFound(f"no API key {key_id} in this shop", "key_id")
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    trail.record(session, shop_id, "api_key.revoked", "api_key", row.id, actor=actor, name=row.name)
    return True


def is_valid(session: Session, shop_id: int, api_key: str | None) -> bool:
    """Whether ``api_key`` is an unrevoked key of this shop."""
    if not api_key:
        return False
    found = session.scalar(
        select(ApiKey.shop_id).where(ApiKey.key_hash == hash_key(api_key), ApiKey.revoked_at.is_(None))
    )
    return found is not None and secrets.compare_digest(str(found), str(shop_id))
