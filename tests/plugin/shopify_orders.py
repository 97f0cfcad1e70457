"""Build Shopify order and refund payloads with chosen ids, times, lines and buyers (from the
sample payloads), for tests that need many orders."""

from __future__ import annotations

import copy
from datetime import datetime

from tests.conftest import fixture_json


def fen(amount: int) -> str:
    """Minor units as Shopify's decimal string: 12345 -> "123.45"."""
    return f"{amount // 100}.{amount % 100:02d}"


def line_id(order_id: int, index: int) -> int:
    return order_id * 10 + index


def order(
    order_id: int,
    paid_at: datetime,
    lines: list[int],
    *,
    customer: int = 5001,
    ref: str | None = "INV-X",
    product_type: str | None = None,
    city: str | None = None,
    **fields,
) -> dict:
    """A paid order: one line per amount in ``lines`` (quantity 1, no discount)."""
    payload = copy.deepcopy(fixture_json("shopify", "orders_paid"))
    template = payload["line_items"][0]
    payload.update(
        id=order_id,
        created_at=paid_at.isoformat(),
        processed_at=paid_at.isoformat(),
        updated_at=paid_at.isoformat(),
        total_price=fen(sum(lines)),
        subtotal_price=fen(sum(lines)),
        current_total_price=fen(sum(lines)),
        landing_site="/",
        note_attributes=[{"name": "ref", "value": ref}] if ref else [],
        customer={"id": customer, "email": f"buyer{customer}@example.com"},
        line_items=[
            {
                **copy.deepcopy(template),
                "id": line_id(order_id, index),
                "product_id": 900 + index,
                "sku": f"SKU-{index}",
                "quantity": 1,
                "price": fen(amount),
                "total_discount": "0.00",
                "discount_allocations": [],
                "product_type": product_type,
            }
            for index, amount in enumerate(lines)
        ],
    )
    if city is not None:
        payload["shipping_address"]["city"] = city
    payload.update(fields)
    return payload


def refund(order_id: int, refund_id: int, amounts: dict[int, int], at: datetime) -> dict:
    """A refund of ``amounts`` (line index -> minor units) on ``order_id``."""
    payload = copy.deepcopy(fixture_json("shopify", "refunds_create"))
    template = payload["refund_line_items"][0]
    payload.update(id=refund_id, order_id=order_id, created_at=at.isoformat(), processed_at=at.isoformat())
    payload["refund_line_items"] = [
        {
            **copy.deepcopy(template),
            "id": refund_id * 10 + index,
            "line_item_id": line_id(order_id, index),
            "subtotal_set": {"shop_money": {"amount": fen(amount), "currency_code": "CNY"}},
        }
        for index, amount in amounts.items()
    ]
    payload["transactions"][0].update(order_id=order_id, amount=fen(sum(amounts.values())))
    return payload
