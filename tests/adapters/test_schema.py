from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from adapters.schema import (
    MAX_MINOR,
    Buyer,
    Order,
    OrderLine,
    OrderSchema,
    Refund,
    RefundLine,
    RefundSchema,
    first_error,
)


def line(**overrides):
    data = {
        "external_id": "L1",
        "product_id": "P1",
        "sku": "TEE",
        "category": None,
        "quantity": 2,
        "unit_price": 14900,
        "discount": 0,
        "paid_amount": 29800,
    }
    return {**data, **overrides}


def order(**overrides):
    data = {
        "platform": "shopify",
        "external_id": "1001",
        "status": "paid",
        "currency": "CNY",
        "channel": "web",
        "ref_code": "INV-B7K2",
        "buyer": {"external_id": "C1"},
        "lines": [line()],
        "placed_at": "2026-11-11T00:05:00+08:00",
        "updated_at": "2026-11-11T00:05:02+08:00",
    }
    return {**data, **overrides}


def refund(**overrides):
    data = {
        "platform": "shopify",
        "external_id": "R1",
        "order_external_id": "1001",
        "currency": "CNY",
        "lines": [{"line_external_id": "L1", "quantity": 1, "amount": 14900}],
        "created_at": "2026-11-15T09:30:00+08:00",
    }
    return {**data, **overrides}


def error_of(schema, data):
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    return first_error(info.value)


def test_valid_order_loads_into_dataclasses():
    loaded = OrderSchema().load(order())
    assert isinstance(loaded, Order)
    assert loaded.buyer == Buyer(external_id="C1")
    assert loaded.lines == (OrderLine("L1", "P1", "TEE", None, 2, 14900, 0, 29800),)
    assert loaded.paid_total == 29800
    assert loaded.placed_at == datetime(2026, 11, 11, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert loaded.paid_at is None


def test_valid_refund_loads_into_dataclasses():
    loaded = RefundSchema().load(refund())
    assert isinstance(loaded, Refund)
    assert loaded.lines == (RefundLine("L1", 1, 14900),)
    assert loaded.total == 14900


def test_paid_amount_mismatch_rejected():
    field, message = error_of(OrderSchema(), order(lines=[line(paid_amount=29700)]))
    assert field == "lines.0.paid_amount"
    assert message == "paid_amount must equal unit_price * quantity - discount"


def test_discount_above_gross_rejected():
    field, _ = error_of(OrderSchema(), order(lines=[line(discount=30000, paid_amount=-200)]))
    assert field == "lines.0.paid_amount"
    field, message = error_of(OrderSchema(), order(lines=[line(quantity=1, discount=20000, paid_amount=0)]))
    assert (field, message) == ("lines.0.discount", "discount exceeds the line's gross amount")


@pytest.mark.parametrize("name", ["unit_price", "discount", "paid_amount"])
@pytest.mark.parametrize("value", [-1, MAX_MINOR + 1])
def test_amounts_outside_what_the_columns_hold_are_rejected(name, value):
    assert error_of(OrderSchema(), order(lines=[line(**{name: value})])) == (
        f"lines.0.{name}",
        f"Must be greater than or equal to 0 and less than or equal to {MAX_MINOR}.",
    )


def test_a_line_whose_gross_exceeds_the_limit_is_rejected():
    gross = MAX_MINOR // 5 * 10  # each amount fits, their product does not
    big = line(quantity=10, unit_price=MAX_MINOR // 5, discount=gross - MAX_MINOR, paid_amount=MAX_MINOR)
    assert error_of(OrderSchema(), order(lines=[big]))[0] == "lines.0.quantity"
    assert error_of(OrderSchema(), order(lines=[line(quantity=2**31)]))[0] == "lines.0.quantity"


def test_a_refund_may_name_no_lines_and_return_an_order_amount():
    loaded = RefundSchema().load(refund(lines=[], order_amount=6500))
    assert (loaded.lines, loaded.order_amount, loaded.total) == ((), 6500, 6500)
    assert error_of(RefundSchema(), refund(order_amount=-1))[0] == "order_amount"
    assert error_of(RefundSchema(), refund(order_amount="65"))[0] == "order_amount"


@pytest.mark.parametrize("value", [14900.0, "14900", True])
def test_non_int_amounts_rejected_by_strict_integer(value):
    assert error_of(OrderSchema(), order(lines=[line(unit_price=value)])) == (
        "lines.0.unit_price",
        "Not a valid integer.",
    )


def test_float_refund_amount_rejected():
    data = refund(lines=[{"line_external_id": "L1", "quantity": 1, "amount": 149.0}])
    assert error_of(RefundSchema(), data) == ("lines.0.amount", "Not a valid integer.")


def test_zero_quantity_line_rejected():
    field, _ = error_of(OrderSchema(), order(lines=[line(quantity=0, paid_amount=0)]))
    assert field == "lines.0.quantity"


@pytest.mark.parametrize("name", ["placed_at", "updated_at", "paid_at"])
def test_naive_datetimes_rejected(name):
    assert error_of(OrderSchema(), order(**{name: "2026-11-11T00:05:00"})) == (
        name,
        "Not a valid aware datetime.",
    )


def test_naive_refund_datetime_rejected():
    assert error_of(RefundSchema(), refund(created_at="2026-11-15T09:30:00"))[0] == "created_at"


def test_unknown_status_and_bad_currency_rejected():
    assert error_of(OrderSchema(), order(status="shipped"))[0] == "status"
    assert error_of(OrderSchema(), order(currency="cny"))[0] == "currency"


def test_duplicate_line_ids_and_empty_lines_rejected():
    assert error_of(OrderSchema(), order(lines=[line(), line()])) == (
        "lines",
        "line external_id values must be unique",
    )
    assert error_of(OrderSchema(), order(lines=[]))[0] == "lines"
