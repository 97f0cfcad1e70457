"""``fenxiao inbox show``: one stored event, its body, its normalized form, and what it became
(the order, its commissions and the ledger transactions posted for them). Read-only."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from adapters.registry import get_adapter
from plugin.commissions.models import Commission
from plugin.db import Database
from plugin.errors import NotFound
from plugin.inbox import fetching
from plugin.inbox.models import InboxEvent
from plugin.inbox.replay import error_text
from plugin.ledger.models import Account, LedgerEntry, LedgerTransaction
from plugin.orders import batch
from plugin.orders.models import Order, Refund
from plugin.shops.models import Shop

SECRET_HEADER_PARTS = ("hmac", "sign", "authorization", "token", "secret", "cookie")


def show_event(database: Database, event_id: int) -> dict:
    """One event, its body, its document and what it became (see the module docstring).

    Raises:
        NotFound: no such event.
    """
    with database.read() as session:
        event = session.get(InboxEvent, event_id)
        if event is None:
            raise NotFound(f"no inbox event {event_id}", "event_id")
        document, normalized = _document_of(event)
        shop = session.get(Shop, event.shop_id)
        external_id = None
        if document is not None:
            external_id = getattr(document, "order_external_id", None) or document.external_id
        return {
            "id": event.id,
            "shop_id": event.shop_id,
            "platform": event.platform,
            "topic": event.topic,
            "kind": event.kind,
            "event_key": event.event_key,
            "status": event.status,
            "attempts": event.attempts,
            "received_at": _iso(event.received_at),
            "processed_at": _iso(event.processed_at),
            "reason": event.reason,
            "last_error": event.last_error,
            "headers": redact(event.headers or {}),
            "body": body_text(event.body),
            "normalized": normalized,
            "order": _became(session, shop, event.platform, external_id) if external_id else None,
        }


def redact(headers: dict) -> dict:
    """The headers, with signatures and tokens replaced by ``[redacted]``."""
    return {
        name: "[redacted]" if any(part in name.lower() for part in SECRET_HEADER_PARTS) else value
        for name, value in sorted(headers.items())
    }


def body_text(body: bytes) -> str:
    """The body as indented JSON if it is JSON, else as text (undecodable bytes replaced)."""
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _document_of(event: InboxEvent) -> tuple[batch.Document | None, dict | None]:
    """The event's document, normalized again if that needs no platform call, and its view."""
    try:
        adapter = get_adapter(event.platform)
        delivery = adapter.describe(event.headers, event.body)
        if not adapter.normalize_at_intake and delivery.kind in fetching.ACTED_ON:
            return None, {
                "needs_fetch": f"{event.platform} messages carry no amounts: the worker fetches the order"
            }
        document = adapter.normalize(delivery, event.body, None)
    except Exception as exc:  # noqa: BLE001 - shown, not raised: this is a diagnosis tool
        return None, {"error": error_text(exc)}
    if document is None:
        return None, None
    return document, {"type": type(document).__name__, **_plain(dataclasses.asdict(document))}


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _became(session: Session, shop: Shop, platform: str, external_id: str) -> dict | None:
    order = session.scalar(
        select(Order).where(
            Order.shop_id == shop.id, Order.platform == platform, Order.external_id == external_id
        )
    )
    if order is None:
        return None
    commissions = list(
        session.scalars(select(Commission).where(Commission.order_id == order.id).order_by(Commission.id))
    )
    lines = {line.id: line.external_id for line in order.lines}
    refunds = session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    return {
        "id": order.id,
        "external_id": order.external_id,
        "status": order.status,
        "currency": order.currency,
        "paid_total": order.paid_total,
        "refunded_total": order.refunded_total,
        "paid_at": _iso(order.paid_at),
        "completed_at": _iso(order.completed_at),
        "buyer_member_id": order.buyer_member_id,
        "lines": [
            {
                "external_id": line.external_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "paid_amount": line.paid_amount,
                "refunded_amount": line.refunded_amount,
            }
            for line in order.lines
        ],
        "refunds": [
            {"external_id": r.external_id, "total": r.total, "refunded_at": _iso(r.refunded_at)}
            for r in refunds
        ],
        "commissions": [
            {
                "id": c.id,
                "line": lines.get(c.order_line_id),
                "tier": c.tier,
                "beneficiary_id": c.beneficiary_id,
                "amount": c.amount,
                "reversed": c.reversed,
                "status": c.status,
                "rule_version": c.rule_version,
            }
            for c in commissions
        ],
        "ledger": _transactions(session, shop.id, [c.id for c in commissions]),
    }


def _transactions(session: Session, shop_id: int, commission_ids: Iterable[int]) -> list[dict]:
    """The ledger transactions posted for these commissions, oldest first, with their legs."""
    ids = list(commission_ids)
    found: dict[int, LedgerTransaction] = {}
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        keys = [f"{kind}:{cid}" for cid in chunk for kind in ("accrue", "settle")]
        matches = or_(
            LedgerTransaction.key.in_(keys),
            *(LedgerTransaction.key.like(f"reverse:{cid}:%") for cid in chunk),
        )
        for txn in session.scalars(
            select(LedgerTransaction).where(LedgerTransaction.shop_id == shop_id, matches)
        ):
            found[txn.id] = txn
    accounts = {}
    entry_accounts = {entry.account_id for txn in found.values() for entry in txn.entries}
    if entry_accounts:
        accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(entry_accounts)))}
    return [
        {
            "id": txn.id,
            "key": txn.key,
            "kind": txn.kind,
            "memo": txn.memo,
            "posted_at": _iso(txn.posted_at),
            "entries": [_leg(entry, accounts[entry.account_id]) for entry in txn.entries],
        }
        for txn in sorted(found.values(), key=lambda txn: txn.id)
    ]


def _leg(entry: LedgerEntry, account: Account) -> dict:
    return {
        "member_id": account.member_id,
        "account": account.kind,
        "amount": entry.amount,
        "currency": entry.currency,
    }
