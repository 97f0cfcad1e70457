"""Members' display names, taken from the platform's customer data as orders are applied:
stored on first sight, replaced by a different one, never erased by an empty one, and written
without any extra query (an ``UPDATE`` only when the name changed)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select

from adapters.registry import get_adapter
from plugin.inbox import mailbox
from plugin.members.models import Member, MemberIdentity
from tests.conftest import shopify_headers
from tests.plugin import shopify_orders as so

CST = timezone(timedelta(hours=8))
PAID = datetime(2026, 11, 5, 12, 0, tzinfo=CST)


def named_order(order_id: int, customer: int, first=None, last=None, phone=None) -> dict:
    payload = so.order(order_id, PAID + timedelta(minutes=order_id), [10000], customer=customer, ref=None)
    payload["customer"].update(first_name=first, last_name=last, phone=phone)
    payload.pop("phone", None)
    return payload


def name_of(database, shop_id: int, customer: int) -> str | None:
    with database.read() as session:
        return session.scalar(
            select(Member.display_name)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(MemberIdentity.shop_id == shop_id, MemberIdentity.external_id == str(customer))
        )


class MemberUpdates:
    """Counts the ``UPDATE member`` statements sent while it is open."""

    def __init__(self, database):
        self.engine, self.count = database.engine, 0

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE MEMBER "):
            self.count += len(parameters) if executemany else 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def paid(send, shop, payload) -> None:
    assert send(shop, "orders/paid", payload).status_code == 200


def test_a_new_buyer_is_stored_with_the_name_from_the_order_and_no_update(database, shop, send):
    with MemberUpdates(database) as updates:
        paid(send, shop, named_order(1, 7001, "小明", "王"))
    assert name_of(database, shop.id, 7001) == "王小明"
    assert updates.count == 0  # born named: the INSERT carried it


def test_a_different_name_replaces_the_stored_one_and_the_same_name_writes_nothing(database, shop, send):
    paid(send, shop, named_order(1, 7001, "Ada", "Lovelace"))
    with MemberUpdates(database) as updates:
        paid(send, shop, named_order(2, 7001, "Ada", "Lovelace"))
    assert updates.count == 0
    with MemberUpdates(database) as updates:
        paid(send, shop, named_order(3, 7001, "Ada", "King"))
    assert updates.count == 1
    assert name_of(database, shop.id, 7001) == "Ada King"


def test_an_order_without_a_name_never_erases_a_known_one(database, shop, send):
    paid(send, shop, named_order(1, 7001, "小明", "王"))
    with MemberUpdates(database) as updates:
        paid(send, shop, named_order(2, 7001))
    assert updates.count == 0
    assert name_of(database, shop.id, 7001) == "王小明"


def test_a_buyer_known_only_by_phone_is_named_by_the_masked_number(database, shop, send):
    paid(send, shop, named_order(1, 7001, phone="+86 138 1234 5678"))
    assert name_of(database, shop.id, 7001) == "138****5678"
    paid(send, shop, named_order(2, 7001, "小明", "王", phone="+86 138 1234 5678"))
    assert name_of(database, shop.id, 7001) == "王小明"  # a real name replaces the number


def test_a_buyer_without_name_or_phone_has_none(database, shop, send):
    paid(send, shop, named_order(1, 7001))
    assert name_of(database, shop.id, 7001) is None


def test_a_batch_of_new_buyers_gives_each_member_its_own_name(database, shop):
    """Drained in one batch: the new members are created in bulk, each born with its name."""
    adapter = get_adapter("shopify")
    names = {7000 + n: (f"Buyer{n}", f"Family{n}") for n in range(6)}
    with database.transaction() as session:
        for n, (customer, (first, last)) in enumerate(names.items()):
            body = json.dumps(named_order(10 + n, customer, first, last)).encode()
            headers = shopify_headers("orders/paid", body, shop.secret)
            mailbox.store(session, shop.id, "shopify", adapter.describe(headers, body), headers, body)
    with MemberUpdates(database) as updates:
        while mailbox.drain(database):
            pass
    assert updates.count == 0
    assert {c: name_of(database, shop.id, c) for c in names} == {
        c: f"{first} {last}" for c, (first, last) in names.items()
    }
