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
    product_types: list[str | None] | None = None,
    city: str | None = None,
    **fields,
) -> dict:
    """A paid order: one line per amount in ``lines`` (quantity 1, no discount)."""
    product_types = product_types or [None] * len(lines)
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
                "product_type": product_types[index],
            }
            for index, amount in enumerate(lines)
        ],
    )
    if city is not None:
        payload["shipping_address"]["city"] = city
    payload.update(fields)
    return payload


def refund(
    order_id: int,
    refund_id: int,
    amounts: dict[int, int],
    at: datetime,
    *,
    returned: int | None = None,
    **fields,
) -> dict:
    """A refund of ``amounts`` (line index -> minor units) on ``order_id``; its transaction
    returns ``returned`` (default: the lines' sum)."""
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
    money = sum(amounts.values()) if returned is None else returned
    payload["transactions"][0].update(order_id=order_id, amount=fen(money))
    payload.update(fields)
    return payload
