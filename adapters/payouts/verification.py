"""Identity verification before a distributor's first withdrawal: one pluggable interface
(``IdentityProvider``) over "trust the domain's checks" and any real-name service behind a
signed HTTP proxy.

The domain has already checked the ID number's checksum, the age and the name's format; a
provider confirms that the person is real and that the payout account is theirs. It answers
with a ``Verdict`` or raises ``PlatformUnavailable`` (ask again later); it never guesses.

``HttpIdentityProvider`` speaks fenxiao's own format, so a shop plugs in any service (a 二要素/
三要素 check, Alipay/WeChat real-name, a bank card 4-element check) through a thin proxy:

- Request: ``POST {url}``, body UTF-8 JSON ``{"request_id", "real_name", "id_number",
  "channel", "account"}``, headers ``X-Fenxiao-Timestamp`` (unix seconds) and
  ``X-Fenxiao-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``, the generic
  webhook's scheme (``adapters.generic.sign_generic``). Retries of one call resend the same bytes
  and timestamp. Redirects are not followed (the body carries an ID number); a 3xx is refused.
- ``request_id`` is ``"idv_"`` + hex HMAC-SHA256(secret, channel|account|real_name|id_number),
  first 32 digits: the same check always has the same id (the proxy may cache or dedupe on it),
  a corrected name gets a new one, and it never reveals the ID number. A plain SHA-256 would:
  ID numbers are few enough to enumerate, so the key is the shared secret.
- Answer: 2xx, JSON ``{"request_id", "result": "pass"|"fail", "reason_code", "reason",
  "reference"}`` signed like the request (its own ``X-Fenxiao-Timestamp`` and
  ``X-Fenxiao-Signature`` over its body, compared in constant time). Decision beyond the brief:
  the answer must echo ``request_id``, which binds the signed answer to this check, so a "pass"
  signed for someone else cannot be replayed; with that binding no timestamp age is enforced.
  An unsigned, badly signed, unbound or malformed answer is ``PlatformUnavailable``, never trusted.
- ``fail`` keeps the service's ``reason_code`` as given (``"unverified"`` when it gives none);
  without a ``reason`` the distributor sees the sentence ``REASONS`` has for the code, or a
  generic one. Timeouts, connection errors and 5xx are retried by ``adapters.http.HttpClient``
  (the check is idempotent per ``request_id``), then ``PlatformUnavailable``; 4xx is
  ``PlatformRefused``.

Nothing is stored, and the ID number and the account never appear in logs or error messages:
a refusal names only the status and a code-like platform code (the proxy's body may echo
them), and ``IdentityCheck``'s repr hides both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import AdapterError, PlatformRefused, PlatformUnavailable, SignatureError
from ..generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_generic
from ..http import HttpClient
from ..signing import check_signature

CHANNELS = ("wechat", "alipay", "bank")
DEFAULT_REASON = "We could not verify your identity with the details given."
#: The sentence a distributor sees for a known ``reason_code`` when the service gives none.
REASONS = {
    "name_mismatch": "The name does not match the ID number.",
    "id_not_found": "The ID number could not be found.",
    "account_mismatch": "The payout account does not belong to the person named.",
    "account_invalid": "The payout account does not exist or cannot receive payouts.",
    "provider_unavailable": "Identity verification is unavailable right now; please try again later.",
}
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_CODE_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_MAX_TEXT = 300


class UnknownProvider(AdapterError):
    """No identity provider is registered under the requested name."""

    code = "unknown_provider"


@dataclass(frozen=True)
class IdentityCheck:
    real_name: str
    id_number: str = field(repr=False)  # already checksum-validated by the domain
    channel: str  # one of CHANNELS
    account: str = field(repr=False)  # the openid, the Alipay account or the bank account number


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason_code: str | None = None  # stable machine code, e.g. "name_mismatch"
    reason: str | None = None  # an English sentence shown to the distributor
    reference: str | None = None  # the provider's id of the check


class IdentityProvider(Protocol):
    """Confirms that a person is real and that a payout account belongs to them.

    An implementation may call out to a service but never stores the check (no database, no
    file, no log line holding the ID number or the account). It returns a ``Verdict`` only when
    the service answered definitively, and never a guess: when it cannot answer (a timeout, a
    5xx, an answer it cannot trust) it raises ``adapters.errors.PlatformUnavailable`` and the
    domain retries later. A refused call (a 4xx: misconfiguration) is ``PlatformRefused``.
    """

    name: str

    def verify(self, check: IdentityCheck) -> Verdict:
        """The provider's verdict on ``check``."""


class AcceptingProvider:
    """Passes everyone: for the embedded demo and for shops that verify identities elsewhere.
    The domain's own checks (ID checksum, age, name format) still apply."""

    name = "none"

    def verify(self, check: IdentityCheck) -> Verdict:
        """Always ``Verdict(passed=True)``."""
        return Verdict(True)


class HttpIdentityProvider:
    """Any real-name service behind a proxy speaking the signed JSON format of the module doc.

    Args:
        url: The proxy's endpoint: ``https://``, or ``http://`` to localhost only.
        secret: The secret shared with the proxy; signs both ways.
        client: The ``HttpClient`` to use (tests pass one with a no-op ``sleep``).
    """

    name = "http"

    def __init__(self, url: str, secret: str, *, client: HttpClient | None = None):
        parts = urlsplit(url)
        if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS)):
            raise AdapterError("the verification url must be https (http only to localhost)", "url")
        if not secret:
            raise AdapterError("the verification secret must not be empty", "secret")
        self.url, self.secret = url, secret
        self.client = client or HttpClient("identity-verification")

    def request_id(self, check: IdentityCheck) -> str:
        """The deterministic id of ``check`` (keyed by the secret: it reveals no ID number)."""
        message = "|".join((check.channel, check.account, check.real_name, check.id_number))
        digest = hmac.new(self.secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256)
        return "idv_" + digest.hexdigest()[:32]

    def verify(self, check: IdentityCheck, *, timestamp: int | None = None) -> Verdict:
        """Ask the proxy about ``check``; ``timestamp`` (unix seconds) defaults to now.

        Raises:
            PlatformUnavailable: no trustworthy answer (timeout, 5xx, bad signature, bad JSON).
            PlatformRefused: the proxy refused the call (4xx or 3xx).
        """
        if check.channel not in CHANNELS:
            raise AdapterError(f"channel must be one of {', '.join(CHANNELS)}", "channel")
        request_id = self.request_id(check)
        body = json.dumps(
            {
                "request_id": request_id,
                "real_name": check.real_name,
                "id_number": check.id_number,
                "channel": check.channel,
                "account": check.account,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        sent = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: sent,
            SIGNATURE_HEADER: sign_generic(body, self.secret, sent),
        }
        try:
            response = self.client.request(
                "POST", self.url, data=body, headers=headers, allow_redirects=False
            )
        except PlatformRefused as exc:  # its message quotes the proxy's body, which may echo the check
            raise PlatformRefused(
                f"identity provider refused the check: HTTP {exc.status}",
                status=exc.status,
                platform_code=_safe_code(exc.platform_code, check),
            ) from None
        if response.status_code >= 300:
            raise PlatformRefused(
                f"identity provider answered HTTP {response.status_code} (redirects are not followed)",
                status=response.status_code,
            )
        return self._read(response.headers, response.content, request_id)

    def _read(self, headers: Any, content: bytes, request_id: str) -> Verdict:
        given, sent = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
        if not given or not _SIGNATURE.fullmatch(given) or not sent or not _UNIX_SECONDS.fullmatch(sent):
            raise _untrusted(f"answer lacks a well-formed {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
        try:
            check_signature(lambda key: sign_generic(content, key, sent), given.lower(), self.secret, "")
        except SignatureError:
            raise _untrusted("answer's signature does not match the shared secret") from None
        try:
            answer = json.loads(content)
        except ValueError:
            raise _untrusted("answer is not JSON") from None
        if not isinstance(answer, dict) or answer.get("request_id") != request_id:
            raise _untrusted("answer does not echo this check's request_id")
        reference = _text(answer, "reference")
        if answer.get("result") == "pass":
            return Verdict(True, reference=reference)
        if answer.get("result") == "fail":
            code = _text(answer, "reason_code") or "unverified"
            reason = _text(answer, "reason") or REASONS.get(code, DEFAULT_REASON)
            return Verdict(False, code, reason, reference)
        raise _untrusted('answer\'s "result" is neither "pass" nor "fail"')


#: The providers a shop can configure, by name.
PROVIDERS: dict[str, type] = {
    AcceptingProvider.name: AcceptingProvider,
    HttpIdentityProvider.name: HttpIdentityProvider,
}


def provider(name: str, **config: Any) -> IdentityProvider:
    """The provider registered as ``name``, built with ``config``.

    Raises:
        UnknownProvider: (code ``unknown_provider``) no provider has that name.
    """
    try:
        factory = PROVIDERS[name]
    except KeyError:
        raise UnknownProvider(
            f"no identity provider {name!r}; known: {', '.join(sorted(PROVIDERS))}", "provider"
        ) from None
    return factory(**config)


def _untrusted(what: str) -> PlatformUnavailable:
    return PlatformUnavailable(f"identity provider: {what}; the answer is not trusted")


def _text(answer: dict, key: str) -> str | None:
    value = answer.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise _untrusted(f'answer\'s "{key}" is not a string of at most {_MAX_TEXT} characters')
    return value


def _safe_code(code: Any, check: IdentityCheck) -> Any:
    """The platform code of a refusal if it looks like a code and holds nothing of the check."""
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        return None
    text = str(code).lower()
    if check.id_number.lower() in text or check.account.lower() in text:
        return None
    return code if isinstance(code, int) or _CODE_LIKE.fullmatch(code) else None
