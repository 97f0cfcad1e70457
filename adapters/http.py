"""Outbound HTTP for the platform clients: one retry policy for every platform API.

- Each attempt has a connect and a read timeout (``TIMEOUT``); a timeout or a connection error
  is retried.
- A 429 is retried after the ``Retry-After`` it names (seconds or an HTTP date), capped at
  ``max_retry_after``; one that asks for longer raises ``PlatformUnavailable`` at once.
- A 5xx is retried with exponential backoff and full jitter (``backoff * 2**attempt``).
- A 4xx is never retried: ``PlatformRefused`` carries the status and the platform's message.
- Out of attempts: ``PlatformUnavailable``, naming the last failure.

Only idempotent calls may be retried blindly: callers pass ``retry=False`` for a call that
creates something without an idempotency key, and such a call's timeout is reported as
``PlatformUnavailable`` for the caller to resolve by reading the platform's state.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .errors import PlatformRefused, PlatformUnavailable

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10.0)  # seconds: connect, read


class HttpClient:
    """``requests`` with fenxiao's retry policy; one per platform client (it keeps a Session)."""

    def __init__(
        self,
        platform: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        attempts: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.platform = platform
        self.session = session or requests.Session()
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self.max_retry_after, self.sleep = max_retry_after, sleep

    def request(self, method: str, url: str, *, retry: bool = True, **kwargs: Any) -> requests.Response:
        """Send one request under the retry policy; returns the 2xx/3xx response.

        Raises:
            PlatformRefused: a 4xx (other than a retried 429).
            PlatformUnavailable: timeouts, connection errors, 5xx or 429 beyond the attempts.
        """
        kwargs.setdefault("timeout", self.timeout)
        attempts = self.attempts if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure = f"{type(exc).__name__} calling {_where(url)}"
                if last:  # not chained: the cause's message holds the whole URL and its query
                    raise PlatformUnavailable(f"{self.platform}: {failure}") from None
                self._wait(self._backoff(attempt), failure)
                continue
            status = response.status_code
            if status == 429:
                wait = retry_after(response.headers.get("Retry-After"), default=self._backoff(attempt))
                failure = f"429 Too Many Requests from {_where(url)}"
                if last or wait > self.max_retry_after:
                    raise PlatformUnavailable(f"{self.platform}: {failure} (retry after {wait:.0f} s)")
                self._wait(wait, failure)
                continue
            if status >= 500:
                failure = f"{status} from {_where(url)}"
                if last:
                    raise PlatformUnavailable(f"{self.platform}: {failure}")
                self._wait(self._backoff(attempt), failure)
                continue
            if status >= 400:
                raise PlatformRefused(
                    f"{self.platform} refused {method} {_where(url)}: {status} {_excerpt(response)}",
                    status=status,
                    platform_code=_platform_code(response),
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """``request`` and decode the body as JSON (``PlatformUnavailable`` if it is not JSON)."""
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise PlatformUnavailable(f"{self.platform}: {_where(url)} answered non-JSON") from None

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, self.backoff * 2**attempt)

    def _wait(self, seconds: float, failure: str) -> None:
        log.warning("%s: %s; retrying in %.2f s", self.platform, failure, seconds)
        self.sleep(seconds)


def retry_after(value: str | None, *, default: float, now: datetime | None = None) -> float:
    """Seconds a ``Retry-After`` header asks to wait: a number of seconds or an HTTP date."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _where(url: str) -> str:
    return url.split("?", 1)[0]  # never log query strings: they may carry tokens or secrets


def _excerpt(response: requests.Response) -> str:
    return " ".join(response.text.split())[:300]


def _platform_code(response: requests.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("errcode", "code", "error_code", "error"):
            if key in body and not isinstance(body[key], (dict, list)):
                return body[key]
    return None
