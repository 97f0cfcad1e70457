"""Shopify API client for one shop: the OAuth install (authorization code grant, offline token)
and the shop's webhook subscriptions, through the REST Admin API.

What it relies on ([V] Shopify's docs or its official libraries, [S] second-hand, [U] a guess):

- [V] The install is the authorization code grant
  (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant):
  the merchant is sent to ``https://{shop}/admin/oauth/authorize?client_id=&scope=&redirect_uri=
  &state=`` (no ``grant_options[]``: an *offline* token, for webhook-driven background work,
  https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens);
  Shopify redirects back with ``code, hmac, host, shop, state, timestamp``.
- [V] The callback's ``hmac`` is the lowercase hex HMAC-SHA256, keyed with the app's client
  secret, of the other query parameters as ``key=value`` pairs sorted and joined with ``&``
  (``hmac`` excluded, and ``signature``, which older docs also exclude); in each pair ``%`` and
  ``&`` are escaped as ``%25`` and ``%26``, and ``=`` in a key as ``%3D``; an ``ids[]``-style
  array is the JSON list of its values (Shopify/shopify_python_api ``shopify/session.py``,
  ``calculate_hmac``). It is compared in constant time with every active secret of a rotation.
- [V] ``shop`` must be a ``*.myshopify.com`` host, checked with an anchored pattern
  (https://shopify.dev/docs/apps/build/security/app-security-checks/weak-shop-validation).
- [V] The code is exchanged by ``POST https://{shop}/admin/oauth/access_token`` with
  ``client_id, client_secret, code`` (form-encoded, as the official Python library sends them);
  the answer is ``{"access_token", "scope"}`` (``scope`` comma-separated). Expiring offline tokens
  (``expires_in``, ``refresh_token``, ``refresh_token_expires_in``, December 2025) are only issued
  when asked for (``expiring=1``, which this client does not send); the fields are read if present.
  Authorizing again returns the same offline token, so a failed install is simply run again.
- [V] Webhook subscriptions (REST Admin API, ``/admin/api/{version}/webhooks.json``): GET lists
  the app's own subscriptions (``{"webhooks": [{"id", "topic", "address", "format"}]}``, at most
  ``limit=250`` a page, further pages through the ``Link: <…>; rel="next"`` header); POST
  ``{"webhook": {"topic", "address", "format": "json"}}`` creates one; PUT
  ``webhooks/{id}.json`` with ``{"webhook": {"id", "address"}}`` moves one. Calls carry the
  token in ``X-Shopify-Access-Token``. The REST Admin API is "legacy" since 2024-10 (new public
  apps must use GraphQL) but still served
  (https://shopify.dev/docs/api/admin-rest/latest/resources/webhook).
- [S] ``API_VERSION``: a stable quarterly version (Shopify supports each for about a year); the
  one the sample webhook headers carry.

``register_webhooks`` is idempotent: it reads the subscriptions, creates the missing ones, moves
one pointing elsewhere to ``address`` and leaves the rest. Creating is sent once (``retry=False``,
see ``adapters.http``): running ``register_webhooks`` again is the retry, and it reads first.
``AppCredentials.api_base`` replaces ``https://{shop}`` (a local fake in tests and benchmarks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ..base import AppCredentials, Token
from ..errors import PlatformRefused, PlatformUnavailable, SignatureError
from ..signing import check_signature
from .base import PlatformClient

API_VERSION = "2026-07"
SHOP_DOMAIN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")  # matched whole (fullmatch)
UNSIGNED_PARAMS = ("hmac", "signature")
PAGE_SIZE = 250
_MAX_PAGES = 40
_MAX_SCOPES = 500


def valid_shop_domain(domain: object) -> bool:
    """Whether ``domain`` is a whole ``*.myshopify.com`` host (nothing before or after it)."""
    return isinstance(domain, str) and SHOP_DOMAIN.fullmatch(domain) is not None


def _base(credentials: AppCredentials, shop_domain: str | None) -> str:
    if credentials.api_base:
        return credentials.api_base.rstrip("/")
    if not valid_shop_domain(shop_domain):
        raise PlatformRefused(f"shopify: {shop_domain!r} is not a *.myshopify.com domain", "shop_ref")
    return f"https://{shop_domain}"


def authorize_url(
    credentials: AppCredentials, shop_domain: str, scopes: Iterable[str], redirect_uri: str, state: str
) -> str:
    """Where to send the merchant to approve the app (an offline-access grant).

    Raises:
        PlatformRefused: ``shop_domain`` is not a ``*.myshopify.com`` host (and no ``api_base``).
    """
    query = urlencode(
        {
            "client_id": credentials.client_id,
            "scope": ",".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{_base(credentials, shop_domain)}/admin/oauth/authorize?{query}"


def callback_message(query: Mapping[str, str | Sequence[str]]) -> str:
    """The string Shopify signs for a redirect's query (see the module docstring).

    Raises:
        SignatureError: a parameter other than an ``[]`` array is repeated (Shopify never does).
    """
    pairs = []
    for key, value in query.items():
        if key in UNSIGNED_PARAMS:
            continue
        if key.endswith("[]"):
            values = [value] if isinstance(value, str) else list(value)
            key, value = key[:-2], json.dumps([str(v) for v in values])
        elif not isinstance(value, str):
            if len(value) != 1:
                raise SignatureError(f"query parameter {key!r} is repeated", key)
            value = value[0]
        key = key.replace("%", "%25").replace("=", "%3D")
        pairs.append(f"{key}={value.replace('%', '%25')}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def sign_callback(query: Mapping[str, str | Sequence[str]], secret: str) -> str:
    """The ``hmac`` Shopify puts on a redirect with ``query`` (for verification and for tests)."""
    message = callback_message(query).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_callback(query: Mapping[str, str | Sequence[str]], secrets: str | Sequence[str]) -> None:
    """Check a redirect's ``hmac`` against every secret of the shop.

    Raises:
        SignatureError: ``hmac`` is missing or no secret produces it.
    """
    given = query.get("hmac")
    if not isinstance(given, str) and given is not None and len(given) == 1:
        given = given[0]
    if not isinstance(given, str) or not given:
        raise SignatureError("the redirect carries no hmac", "hmac")
    message = "the redirect's hmac matches none of the shop's secrets"
    check_signature(lambda secret: sign_callback(query, secret), given, secrets, "hmac", message)


@dataclass(frozen=True)
class Registration:
    """What ``register_webhooks`` did, topic by topic."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(topics) for name, topics in asdict(self).items()}


class ShopifyClient(PlatformClient):
    """Shopify Admin API calls for one shop (``credentials.shop_ref`` is its myshopify domain)."""

    platform = "shopify"

    @property
    def base(self) -> str:
        return _base(self.credentials, self.credentials.shop_ref)

    def exchange_code(self, code: str) -> Token:
        """Trade the callback's authorization code for the shop's offline token, and save it.

        Raises:
            PlatformRefused: the app id or secret is missing, Shopify refused the code (a 4xx:
                wrong, used or expired), or answered without a token.
            PlatformUnavailable: Shopify did not answer usefully (see ``adapters.http``).
        """
        credentials = self.credentials
        for name in ("client_id", "client_secret"):
            if not getattr(credentials, name):
                raise PlatformRefused(f"shopify: the shop's {name} is not configured", name)
        # Retried like any call: a retry of an exchange Shopify already made is refused (the
        # code is single-use), which is surfaced; it never yields a second token.
        body = self.http.json(
            "POST",
            f"{self.base}/admin/oauth/access_token",
            data={
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "code": code,
            },
            headers={"Accept": "application/json"},
        )
        token = self._token(body)
        self.tokens.save(token)
        return token

    def access_token(self) -> str:
        """The stored token.

        Raises:
            PlatformRefused: there is none (the app is not installed) or it has expired.
        """
        token = self.tokens.load()
        if token is None:
            raise PlatformRefused("shopify: the shop has no access token (install the app)", "access_token")
        if token.expires_at is not None and self.now() >= token.expires_at:
            raise PlatformRefused(
                "shopify: the access token has expired (install the app again)", "access_token"
            )
        return token.access_token

    def webhooks(self) -> list[dict]:
        """The app's webhook subscriptions on the shop, every page of them.

        Raises:
            PlatformRefused, PlatformUnavailable: as ``adapters.http`` says.
        """
        url = f"{self.base}/admin/api/{API_VERSION}/webhooks.json?limit={PAGE_SIZE}"
        found: list[dict] = []
        for _page in range(_MAX_PAGES):
            response = self.http.request("GET", url, headers=self._headers())
            try:
                body = response.json()
            except ValueError as exc:
                raise PlatformUnavailable("shopify: the webhooks list is not JSON") from exc
            items = body.get("webhooks") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise PlatformUnavailable("shopify: the webhooks list answered without 'webhooks'")
            found.extend(item for item in items if isinstance(item, dict))
            url = response.links.get("next", {}).get("url")
            if not url:
                return found
        raise PlatformUnavailable(f"shopify: the webhooks list goes on beyond {_MAX_PAGES} pages")

    def register_webhooks(self, address: str, topics: Iterable[str]) -> Registration:
        """Make each topic deliver to ``address``: create what is missing, move one subscription
        that points elsewhere, leave the ones already there.

        Raises:
            PlatformRefused, PlatformUnavailable: as ``adapters.http`` says; what was done before
                the failure stays done, and running this again finishes the work.
        """
        existing = self.webhooks()
        created, updated, unchanged = [], [], []
        for topic in dict.fromkeys(topics):
            subscribed = [item for item in existing if item.get("topic") == topic]
            if any(item.get("address") == address for item in subscribed):
                unchanged.append(topic)
            elif subscribed:
                webhook_id = subscribed[0].get("id")
                if isinstance(webhook_id, bool) or not isinstance(webhook_id, int):
                    raise PlatformUnavailable(f"shopify: the {topic} subscription has no usable id")
                self.http.json(
                    "PUT",
                    f"{self.base}/admin/api/{API_VERSION}/webhooks/{webhook_id}.json",
                    json={"webhook": {"id": webhook_id, "address": address}},
                    headers=self._headers(),
                )
                updated.append(topic)
            else:
                self.http.json(
                    "POST",
                    f"{self.base}/admin/api/{API_VERSION}/webhooks.json",
                    json={"webhook": {"topic": topic, "address": address, "format": "json"}},
                    headers=self._headers(),
                    retry=False,
                )
                created.append(topic)
        return Registration(tuple(created), tuple(updated), tuple(unchanged))

    def _headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.access_token(), "Accept": "application/json"}

    def _token(self, body: Any) -> Token:
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise PlatformRefused("shopify: the token exchange answered without an access_token", status=200)
        scope = body.get("scope")
        refresh = body.get("refresh_token")
        return Token(
            access_token=access,
            expires_at=self._after(body.get("expires_in")),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            refresh_expires_at=self._after(body.get("refresh_token_expires_in")),
            scopes=scope[:_MAX_SCOPES] if isinstance(scope, str) and scope else None,
        )

    def _after(self, seconds: Any) -> datetime | None:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            return None
        return self.now() + timedelta(seconds=seconds)
