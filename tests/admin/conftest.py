"""Workbench fixtures: users of every role, logging in through the real form, CSRF tokens.

CSRF protection stays on in these tests: every POST carries the token a page handed out,
exactly as a browser would (``post``), and a test that leaves it out sees the refusal.
"""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from plugin.users import accounts

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/admin/login") -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post(client, path: str, data: dict | None = None, *, token_from: str = "/admin/login", **kwargs):
    """POST a form the way a browser does: with the token of a page of this session."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **(data or {})}, **kwargs)


def login(client, email: str, password: str = PASSWORD):
    return post(client, "/admin/login", {"email": email, "password": password})


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """Argon2id at its lowest cost in these tests: each login would otherwise spend ~0.1-0.3 s
    of CPU on purpose. What is tested is who may log in, not the hash's cost (the server started
    by the browser tests keeps argon2-cffi's defaults)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def make_user(database):
    """``make_user(shop_id, role="viewer", email=None, **options)`` -> the e-mail (password PASSWORD)."""
    made = []

    def make(shop_id: int | None, role: str = "viewer", email: str | None = None, **options) -> str:
        email = email or f"{role}{len(made)}-{shop_id or 'platform'}@example.com"
        with database.transaction() as session:
            accounts.add_user(session, email=email, password=PASSWORD, role=role, shop_id=shop_id, **options)
        made.append(email)
        return email

    return make


@pytest.fixture
def as_role(app, shop, make_user):
    """``as_role("operator")`` -> a new client logged in as a user of ``shop`` with that role."""

    def logged_in(role: str, shop_id: int | None = None, **options):
        client = app.test_client()
        email = make_user(shop_id or shop.id, role, **options)
        reply = login(client, email)
        assert reply.status_code == 302, reply.get_data(as_text=True)
        client.email = email
        return client

    return logged_in


@pytest.fixture
def other_shop(make_shop):
    """A second shop: nothing of it may ever show in the first shop's workbench."""
    return make_shop(name="Other shop")
