"""Signatures as each platform computes them, for verification and for signing test traffic.

Tests, the demo and the benchmark sign the exact bytes they send with these helpers; the
adapters verify with the same functions, so there is one definition per platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence

from .errors import SignatureError


def _key(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode("utf-8")


def sign_shopify(body: bytes, secret: str | bytes) -> str:
    """Compute Shopify's ``X-Shopify-Hmac-Sha256`` value for ``body``.

    Args:
        body: The raw request body, byte for byte as sent.
        secret: The app's client secret.

    Returns:
        ``base64(HMAC-SHA256(key=secret, msg=body))`` as an ASCII string.
    """
    digest = hmac.new(_key(secret), bytes(body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def shopify_headers(
    topic: str, body: bytes, secret: str | bytes, webhook_id: str, domain: str = "demo-shop.myshopify.com"
) -> dict[str, str]:
    """The headers of one signed Shopify delivery of ``body`` (for the demo, tests and benchmarks)."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_shopify(body, secret),
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id,
    }


def check_signature(
    sign: Callable[[str], str],
    given: str | Sequence[str],
    secrets: Sequence[str] | str,
    field: str,
    message: str = "signature matches none of the shop's secrets",
) -> None:
    """Raise ``SignatureError`` (naming ``field``) unless ``sign(secret)`` equals one of the
    ``given`` values for one of ``secrets``. Every secret of a rotation is tried and every
    comparison is constant-time and made, so the answer's timing says nothing about which."""
    if isinstance(secrets, (str, bytes)):
        secrets = [secrets]
    wanted = [value.encode("utf-8") for value in ([given] if isinstance(given, str) else given)]
    matches = [
        hmac.compare_digest(sign(secret).encode("ascii"), value)
        for secret in secrets
        if secret
        for value in wanted
    ]
    if not any(matches):
        raise SignatureError(message, field)
