"""What every platform client shares: the shop's app credentials, its token store, the one
retry policy (``adapters.http``) and an injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..base import AppCredentials, TokenStore
from ..http import HttpClient


def utcnow() -> datetime:
    return datetime.now(UTC)


class PlatformClient:
    """One shop's client of one platform's API (``platform`` names it in errors and logs)."""

    platform = "?"
    default_base = ""  # the platform's public API address

    def __init__(
        self,
        credentials: AppCredentials,
        tokens: TokenStore,
        http: HttpClient | None = None,
        now: Callable[[], datetime] = utcnow,
    ):
        self.credentials, self.tokens, self.now = credentials, tokens, now
        self.http = http or HttpClient(self.platform)

    @property
    def base(self) -> str:
        """The API's address: the connection's override (a sandbox, a local fake) or the public one."""
        return (self.credentials.api_base or self.default_base).rstrip("/")
