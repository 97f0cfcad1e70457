"""The contract every shop-platform adapter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .schema import Order, Refund

# What a delivery asks the domain to do.
KIND_ORDER = "order"
KIND_REFUND = "refund"
KIND_IGNORED = "ignored"  # a topic we record but do not act on
KIND_HEARTBEAT = "heartbeat"  # a platform's test message: acknowledge, store nothing


@dataclass(frozen=True)
class Delivery:
    """What the envelope of one webhook delivery says, before normalization."""

    event_key: str  # the platform's unique id of this message: the dedupe key
    topic: str
    kind: str
    occurred_at: datetime | None = None


class PlatformAdapter(Protocol):
    """Verifies and normalizes one platform's webhooks.

    An implementation may parse, verify and translate; it never touches the database, the
    ledger or the job queue, and it converts every amount to integer minor units.
    """

    identifier: str
    #: Whether ``normalize`` is pure and cheap (no outbound call), so intake can run it to
    #: reject a malformed payload with a 4xx before storing it.
    normalize_at_intake: bool

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> None:
        """Raise ``SignatureError`` unless ``body`` is signed by one of ``secrets``."""

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read the envelope: dedupe key, topic, kind. Raise ``PayloadError`` if malformed."""

    def normalize(self, delivery: Delivery, body: bytes) -> Order | Refund | None:
        """Translate the payload into the common schema (``None`` for ignored kinds)."""

    def acknowledgement(self) -> dict:
        """The JSON body the platform expects in a successful reply."""
