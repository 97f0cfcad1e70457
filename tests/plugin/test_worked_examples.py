"""Hand-computed scenarios, kept as data in tests/fixtures/worked_examples.json, checked to the fen."""

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from plugin.cli.demo import seed_chain
from plugin.commissions import settlement
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.orders.models import Order
from tests.conftest import FIXTURES, fixture_bytes

SCENARIOS = json.loads((FIXTURES / "worked_examples.json").read_text())["scenarios"]
ZERO = {kind.value: 0 for kind in journal.DISTRIBUTOR_ACCOUNTS}


def pay_out(session, shop_id: int, member_id: int, currency: str) -> None:
    """What an approved, paid withdrawal will post: the whole available balance to paid."""
    available = journal.account(session, shop_id, member_id, AccountKind.AVAILABLE, currency)
    paid = journal.account(session, shop_id, member_id, AccountKind.PAID, currency)
    amount = journal.balance(session, available)
    journal.post(
        session,
        shop_id,
        f"test-payout:{member_id}:{amount}",
        "payout",
        [journal.debit(available, amount), journal.credit(paid, amount)],
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_worked_example(scenario, make_shop, send, database):
    shop = make_shop(tier_depth=scenario["tier_depth"])
    with database.transaction() as session:
        members = seed_chain(session, shop.id)
    for step, *args in scenario["steps"]:
        if step == "webhook":
            topic, name = args
            assert send(shop, topic, fixture_bytes("shopify", name)).status_code == 200
        elif step == "settle":
            settlement.settle_due(database, datetime.fromisoformat(args[0]))
        elif step == "payout":
            with database.transaction() as session:
                pay_out(session, shop.id, members[args[0]], "CNY")
        elif step == "expect":
            with database.transaction() as session:
                members.setdefault(
                    "E", session.scalar(select(Order.buyer_member_id).where(Order.shop_id == shop.id))
                )
                actual = {
                    name: journal.member_balances(session, shop.id, members[name], "CNY") for name in args[0]
                }
                assert not journal.unbalanced_transactions(session, shop.id)
            assert actual == {name: {**ZERO, **expected} for name, expected in args[0].items()}
