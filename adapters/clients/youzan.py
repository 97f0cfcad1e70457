"""Youzan Cloud (有赞云) API client for one shop: its access token, obtained and renewed.

What it relies on ([V] Youzan's docs or official SDKs, [S] second-hand, [U] a guess):

- [V] Tokens come from ``POST https://open.youzanyun.com/auth/token`` with a JSON body
  ``client_id, client_secret, authorize_type, grant_id`` (youzan/open-sdk-node ``src/token.js``
  and ``src/config/http.js``, youzan/open-sdk-php ``src/Open/Token.php``, youzan/open-sdk-Csharp
  ``token/type/Silent.cs``). ``authorize_type`` ``silent`` is the self-use app (自用型) grant:
  ``grant_id`` is the shop's ``kdt_id`` (``AppCredentials.shop_ref``) and the client secret is
  the proof, so no user is involved and the grant can simply be run again. (Tool apps, 工具型,
  use the OAuth ``authorization_code`` flow instead; this client does not implement it.)
- [V] ``refresh`` (bool) asks for a ``refresh_token`` as well (open-sdk-node README). fenxiao
  sends ``false``: it renews by running the silent grant again, which needs nothing but the
  secret it already holds ([S] "自用型不需要根据刷新token获取token, 如果token过期了, 直接再获取一次
  token就可以", blog.csdn.net/qq_39315420/article/details/103372706).
- [V] The reply is ``{"success": true, "code": 200, "data": {"access_token", "expires",
  "scope", "authority_id"[, "refresh_token"]}, "message"}`` (the C# SDK's ``OauthToken``); a
  refusal comes as HTTP 200 with ``success`` false and Youzan's own ``code`` and ``message``,
  raised as ``PlatformRefused`` carrying that code.
- [S] ``expires`` is the expiry as epoch milliseconds (callers do ``new Date(data.expires)``).
  Read tolerantly: a value in epoch seconds is taken as such, a small number (or
  ``expires_in``) as seconds from now; without any, the token is treated as not expiring.

The token is renewed ``RENEW_BEFORE`` ahead of its expiry, so a call never starts with a
token about to lapse. Every call goes through ``adapters.http.HttpClient`` (timeouts, 429
``Retry-After``, 5xx backoff, 4xx -> ``PlatformRefused``); ``AppCredentials.api_base``
replaces the platform's address (a sandbox, or a local fake in tests and benchmarks).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import Token
from ..errors import PlatformRefused, PlatformUnavailable
from .base import PlatformClient

API_BASE = "https://open.youzanyun.com"
GRANT_PATH = "/auth/token"
RENEW_BEFORE = timedelta(minutes=30)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SCOPES = 500


class YouzanClient(PlatformClient):
    """Youzan Cloud calls on behalf of one shop (``credentials.shop_ref`` is its ``kdt_id``)."""

    platform = "youzan"
    default_base = API_BASE

    def access_token(self) -> str:
        """A token valid for at least ``RENEW_BEFORE``: the stored one, else a new one (saved)."""
        return self.token().access_token

    def token(self) -> Token:
        """The shop's current token (obtained or renewed first when needed), with its expiry."""
        token = self.tokens.load()
        if token is None or self._due(token):
            token = self.obtain()
        return token

    def obtain(self) -> Token:
        """Run the silent grant for the shop and save the token it returns.

        Raises:
            PlatformRefused: the app id, secret or ``kdt_id`` is missing, or Youzan refused the
                grant (``platform_code`` is Youzan's code; the HTTP status may be 200).
            PlatformUnavailable: Youzan did not answer usefully (see ``adapters.http``).
        """
        credentials = self.credentials
        for name in ("client_id", "client_secret", "shop_ref"):
            if not getattr(credentials, name):
                raise PlatformRefused(f"youzan: the shop's {name} is not configured", name)
        body = self.http.json(
            "POST",
            self.base + GRANT_PATH,
            json={
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "authorize_type": "silent",
                "grant_id": credentials.shop_ref,
                "refresh": False,
            },
        )
        token = self._token(body)
        self.tokens.save(token)
        return token

    def _due(self, token: Token) -> bool:
        return token.expires_at is not None and self.now() >= token.expires_at - RENEW_BEFORE

    def _token(self, body: Any) -> Token:
        if not isinstance(body, dict):
            raise PlatformUnavailable("youzan: the token endpoint answered something other than an object")
        code = body.get("code")
        if body.get("success") is not True or (code is not None and str(code) != "200"):
            message = body.get("message") or body.get("msg") or "no message"
            raise PlatformRefused(
                f"youzan refused the token grant: {code} {message}"[:300], status=200, platform_code=code
            )
        data = body.get("data")
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise PlatformUnavailable("youzan: the token grant succeeded without an access_token")
        scope = data.get("scope")
        if isinstance(scope, list):
            scope = " ".join(str(item) for item in scope)
        refresh = data.get("refresh_token")
        return Token(
            access_token=access,
            expires_at=self._expiry(data),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            scopes=scope[:_MAX_SCOPES] if isinstance(scope, str) and scope else None,
        )

    def _expiry(self, data: dict) -> datetime | None:
        """``expires`` as epoch milliseconds [S], read tolerantly (see the module docstring)."""
        for key in ("expires", "expires_in"):
            value = data.get(key)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                continue
            if key == "expires" and value >= 10**11:
                return EPOCH + timedelta(milliseconds=value)
            if key == "expires" and value >= 10**9:
                return EPOCH + timedelta(seconds=value)
            return self.now() + timedelta(seconds=value)
        return None
