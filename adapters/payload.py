"""Readers for a platform's raw JSON payload, shared by the platform adapters.

Each reader takes the dotted path of the raw field it reads (``line_items.0.price``) and
raises ``PayloadError`` naming that path, so a malformed payload is reported precisely and
never escapes as ``KeyError``, ``TypeError`` or ``ValueError``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError

from .errors import PayloadError
from .money import Money
from .schema import MAX_MINOR, first_error

# A platform's decimal amount string: ASCII digits, optional fraction, no sign or exponent.
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,12})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_ID_LENGTH = 128


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` (matched case-insensitively), stripped; ``None`` if absent or empty."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == wanted), None)
    if not isinstance(value, str):
        return None
    return value.strip() or None


_last = threading.local()  # the body this thread parsed last, and what it parsed to


def parse_object(body: bytes) -> dict:
    """Parse ``body`` as a JSON object; the same ``body`` object again (``describe`` then
    ``normalize`` of one delivery) is parsed once. Callers read the result, never change it.

    Raises:
        PayloadError: (field ``body``) not UTF-8 JSON, nested too deeply, or not an object.
    """
    if getattr(_last, "body", None) is body:
        return _last.data
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        raise PayloadError("body is not valid JSON", "body")
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object", "body")
    _last.body, _last.data = body, data
    return data


def join(path: str, key: str | int) -> str:
    """Append ``key`` to the dotted ``path``."""
    return f"{path}.{key}" if path else str(key)


def child(node: dict, key: str, path: str = "") -> Any:
    """Return the required, non-null ``node[key]``; ``path`` is the dotted path of ``node``.

    Raises:
        PayloadError: the key is missing or null.
    """
    value = node.get(key)
    if value is None:
        raise PayloadError(f"missing field {join(path, key)}", join(path, key))
    return value


def as_dict(value: Any, path: str) -> dict:
    """Return ``value`` if it is a JSON object, else raise ``PayloadError`` naming ``path``."""
    if not isinstance(value, dict):
        raise PayloadError(f"{path} must be an object", path)
    return value


def as_list(value: Any, path: str) -> list:
    """Return ``value`` if it is a JSON array, else raise ``PayloadError`` naming ``path``."""
    if not isinstance(value, list):
        raise PayloadError(f"{path} must be an array", path)
    return value


def as_int(value: Any, path: str) -> int:
    """Return ``value`` if it is a JSON integer (not a bool, float or string)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{path} must be an integer", path)
    return value


def as_id(value: Any, path: str) -> str:
    """Return an identifier (a JSON integer or a non-empty string) as a string."""
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_ID_LENGTH:
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) <= MAX_ID_LENGTH:
        return str(value)
    raise PayloadError(f"{path} must be an integer or a non-empty string id", path)


def as_text(value: Any, path: str) -> str | None:
    """Return a stripped optional string: ``None`` for null or blank, ``PayloadError`` if not a string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{path} must be a string", path)
    return value.strip() or None


def as_currency(value: Any, path: str) -> str:
    """Return an ISO-4217 currency code (three upper-case letters)."""
    if not (isinstance(value, str) and _CURRENCY.fullmatch(value)):
        raise PayloadError(f"{path} must be an ISO-4217 currency code", path)
    return value


def as_amount(value: Any, currency: str, path: str) -> int:
    """Convert a decimal amount string (``"149.00"``) to integer minor units of ``currency``.

    JSON numbers are refused: they are floats, lossy by construction.
    """
    if not (isinstance(value, str) and _AMOUNT.fullmatch(value.strip())):
        raise PayloadError(f"{path} must be a non-negative decimal string", path)
    try:
        minor = Money.parse(value, currency).minor
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"{path}: {exc}", path)
    if minor > MAX_MINOR:
        raise PayloadError(f"{path} is larger than fenxiao accepts ({MAX_MINOR} minor units)", path)
    return minor


def as_signed_amount(value: Any, currency: str, path: str) -> int:
    """Like :func:`as_amount`, for the few fields a platform writes with a sign (``"-8.00"``)."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -as_amount(value.strip()[1:], currency, path)
    return as_amount(value, currency, path)


def as_timestamp(value: Any, path: str) -> datetime | None:
    """Parse an optional ISO-8601 timestamp that carries a UTC offset (``None`` for null)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{path} must be an ISO-8601 timestamp", path)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PayloadError(f"{path} must carry a UTC offset", path)
    return parsed


def iso(value: datetime | None) -> str | None:
    """Format a datetime for the schema (``None`` stays ``None``)."""
    return None if value is None else value.isoformat()


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load(schema: Schema, data: dict) -> Any:
    """Load ``data`` through ``schema``, turning a ``ValidationError`` into ``PayloadError``."""
    try:
        return schema.load(data)
    except ValidationError as err:
        field, message = first_error(err)
        raise PayloadError(f"{field}: {message}", field)


def masked_phone(phone: str | None) -> str | None:
    """A phone number with its middle hidden (``137****0003``; a +86 prefix dropped), for the
    workbench, which never needs the whole number; None if it has fewer than 7 digits."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    if phone and phone.lstrip().startswith("+86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return None
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
