"""Per-shop API-key authentication for the JSON API."""

from __future__ import annotations

from contextlib import contextmanager

from flask import request

from plugin.runtime import for_request
from plugin.shops import tenants

# Either scheme authenticates a call: the shop's key in X-Api-Key, or as a bearer token.
SECURITY = [{"ApiKey": []}, {"Bearer": []}]
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "the shop's API key as a bearer token"},
}


def presented_key() -> str | None:
    """The key from ``X-Api-Key`` or ``Authorization: Bearer <key>``."""
    key = request.headers.get("X-Api-Key")
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


@contextmanager
def shop_session(shop_id: int):
    """One transaction plus the shop the caller's key authenticates (401 otherwise)."""
    with for_request().database.transaction() as session:
        yield session, tenants.authenticate(session, shop_id, presented_key())


def authenticate(shop_id: int) -> None:
    """Check the caller's key for the shop (401 otherwise), for calls that run their own transactions."""
    with shop_session(shop_id):
        return
