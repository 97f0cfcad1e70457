"""The ledger refuses unbalanced transactions (in code, and on PostgreSQL in the database too),
posts each key once, and derives balances from entries."""

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from adapters.money import Money
from plugin.errors import UnbalancedTransaction
from plugin.ledger import journal
from plugin.ledger.models import AccountKind, LedgerEntry, LedgerTransaction


@pytest.fixture
def accounts(database, shop):
    with database.transaction() as session:
        pending = journal.account(session, shop.id, 7, AccountKind.PENDING, "CNY")
        expense = journal.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, "CNY")
    return pending, expense


def test_posts_once_per_key_and_derives_balance(database, shop, accounts):
    pending, expense = accounts
    for _ in range(2):
        with database.transaction() as session:
            journal.post(
                session, shop.id, "k1", "accrue", [journal.debit(expense, 500), journal.credit(pending, 500)]
            )
    with database.transaction() as session:
        assert journal.balance(session, pending) == 500
        assert journal.balance(session, expense) == 500
        assert journal.member_balances(session, shop.id, 7, "CNY")["pending"] == 500
        assert len(list(session.scalars(select(LedgerTransaction)))) == 1


@pytest.mark.parametrize(
    "legs",
    [
        lambda p, e: [journal.debit(e, 500), journal.credit(p, 499)],
        lambda p, e: [],
        lambda p, e: [(e, Money(500, "CNY")), (p, Money(-500, "USD"))],
    ],
)
def test_unbalanced_or_mixed_currency_is_refused_and_writes_nothing(database, shop, accounts, legs):
    pending, expense = accounts
    with pytest.raises(UnbalancedTransaction), database.transaction() as session:
        journal.post(session, shop.id, "bad", "accrue", legs(pending, expense))
    with database.transaction() as session:
        assert session.scalar(select(LedgerTransaction)) is None


def test_database_rejects_unbalanced_transactions_on_postgresql(database, shop, accounts, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the deferred balance trigger is PostgreSQL's; SQLite relies on the code's check")
    _, expense = accounts
    with pytest.raises(DBAPIError, match="does not balance"), database.transaction() as session:
        txn = LedgerTransaction(shop_id=shop.id, key="raw", kind="raw")
        session.add(txn)
        session.flush()
        session.add(
            LedgerEntry(
                shop_id=shop.id, transaction_id=txn.id, account_id=expense.id, amount=1, currency="CNY"
            )
        )
    with database.transaction() as session:
        assert session.scalar(select(LedgerTransaction)) is None


def test_database_keeps_entries_append_only(database, shop, accounts):
    pending, expense = accounts
    with database.transaction() as session:
        journal.post(
            session, shop.id, "ok", "accrue", [journal.debit(expense, 5), journal.credit(pending, 5)]
        )
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(update(LedgerEntry).values(amount=0))
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(delete(LedgerEntry))
    with database.transaction() as session:
        assert session.scalar(text("SELECT SUM(amount) FROM ledger_entry")) == 0
        assert journal.balance(session, pending) == 5


def test_an_unbalanced_transaction_is_reported_for_its_shop_only(database, make_shop):
    mine, other = make_shop(), make_shop()
    with database.transaction() as session:
        account = journal.account(session, mine.id, 7, AccountKind.PENDING, "CNY")
        balanced = journal.post(
            session,
            mine.id,
            "fine",
            "accrue",
            [
                journal.debit(
                    journal.shop_account(session, mine.id, AccountKind.COMMISSION_EXPENSE, "CNY"), 5
                ),
                journal.credit(account, 5),
            ],
        )
        broken = LedgerTransaction(shop_id=mine.id, key="broken", kind="accrue")
        session.add(broken)
        session.flush()
        session.add(
            LedgerEntry(
                shop_id=mine.id, transaction_id=broken.id, account_id=account.id, amount=5, currency="CNY"
            )
        )
        session.flush()  # checked before commit: PostgreSQL's deferred trigger would refuse the commit
        assert journal.unbalanced_transactions(session, mine.id) == [broken.id]
        assert journal.unbalanced_transactions(session, other.id) == []
        assert journal.unbalanced_transactions(session) == [broken.id]
        assert balanced not in journal.unbalanced_transactions(session)
        session.rollback()


def test_an_unbalanced_posting_says_which_and_why(database, shop, accounts):
    pending, expense = accounts
    with pytest.raises(UnbalancedTransaction) as info, database.transaction() as session:
        journal.post(
            session, shop.id, "k-odd", "accrue", [journal.debit(expense, 500), journal.credit(pending, 499)]
        )
    assert info.value.message.startswith("transaction 'k-odd' does not balance: ")


def test_one_fen_legs_are_posted(database, shop, accounts):
    pending, expense = accounts
    with database.transaction() as session:
        journal.post(
            session, shop.id, "one-fen", "accrue", [journal.debit(expense, 1), journal.credit(pending, 1)]
        )
    with database.transaction() as session:
        assert journal.balance(session, pending) == 1
        assert [e.amount for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))] == [1, -1]


def test_each_shop_books_on_its_own_expense_account(database, make_shop):
    first, second = make_shop(), make_shop()
    with database.transaction() as session:
        one = journal.shop_account(session, first.id, AccountKind.COMMISSION_EXPENSE, "CNY")
        two = journal.shop_account(session, second.id, AccountKind.COMMISSION_EXPENSE, "CNY")
        assert one.id != two.id
        assert (one.shop_id, two.shop_id) == (first.id, second.id)
    with database.transaction() as session:  # found again, not created again, in a new session
        assert journal.shop_account(session, second.id, AccountKind.COMMISSION_EXPENSE, "CNY").id == two.id
