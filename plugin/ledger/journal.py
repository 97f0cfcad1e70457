"""The append-only double-entry commission ledger.

Each transaction is a set of legs summing to zero (debit > 0, credit < 0), posted once per
idempotency ``key``. Balances are never stored: they are sums over the entries.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from adapters.money import Money
from plugin import appends, db, keys
from plugin.db import insert_new
from plugin.errors import UnbalancedTransaction
from plugin.ledger.models import (
    DEBIT_NORMAL,
    SHOP_OWNER,
    Account,
    AccountKind,
    LedgerEntry,
    LedgerTransaction,
)

DISTRIBUTOR_ACCOUNTS = (
    AccountKind.PENDING,
    AccountKind.AVAILABLE,
    AccountKind.WITHDRAWING,
    AccountKind.PAID,
    AccountKind.ARREARS,
)


def account(
    session: Session, shop_id: int, member_id: int, kind: AccountKind, currency: str, *, lock: bool = False
) -> Account:
    """The account, created on first use. ``lock`` takes a row lock to serialize balance checks.

    Accounts never change once created, so each transaction remembers the ones it has seen.
    """
    seen = db.memo(session, "accounts")
    cache_key = (shop_id, member_id, kind, currency)
    if not lock and cache_key in seen:
        return seen[cache_key]
    query = select(Account).where(
        Account.shop_id == shop_id,
        Account.member_id == member_id,
        Account.kind == kind,
        Account.currency == currency,
    )
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        try:
            with appends.savepoint(session):
                found = Account(shop_id=shop_id, member_id=member_id, kind=kind, currency=currency)
                session.add(found)
                session.flush()
        except IntegrityError:
            found = session.scalar(query)
    seen[cache_key] = found
    return found


def open_accounts(
    session: Session, shop_id: int, member_ids: Iterable[int], kind: AccountKind, currency: str
) -> None:
    """Make sure the ``kind`` accounts of ``member_ids`` exist and remember them (for a batch):
    one ``SELECT … IN``, and for the missing ones one ``INSERT … ON CONFLICT DO NOTHING`` and a
    second ``SELECT``."""
    seen = db.memo(session, "accounts")

    def missing() -> list[int]:
        return sorted({m for m in member_ids if (shop_id, m, kind, currency) not in seen})

    def remember(members: list[int]) -> None:
        for row in session.scalars(
            select(Account).where(
                Account.shop_id == shop_id,
                Account.kind == kind,
                Account.currency == currency,
                Account.member_id.in_(members),
            )
        ):
            seen[(shop_id, row.member_id, kind, currency)] = row

    member_ids = list(member_ids)
    if wanted := missing():
        remember(wanted)
    if wanted := missing():
        session.execute(
            insert_new(session, Account)
            .values(
                [{"shop_id": shop_id, "member_id": m, "kind": kind, "currency": currency} for m in wanted]
            )
            .on_conflict_do_nothing()
        )
        remember(wanted)


def shop_account(session: Session, shop_id: int, kind: AccountKind, currency: str) -> Account:
    return account(session, shop_id, SHOP_OWNER, kind, currency)


def already_posted(session: Session, shop_id: int, key: str) -> bool:
    appends.write(session)
    return (
        session.scalar(
            select(LedgerTransaction.id).where(
                LedgerTransaction.shop_id == shop_id, LedgerTransaction.key == key
            )
        )
        is not None
    )


def post(
    session: Session,
    shop_id: int,
    key: str,
    kind: str,
    legs: Iterable[tuple[Account, Money]],
    memo: str = "",
    *,
    new_key: bool = False,
) -> int | None:
    """Post a balanced transaction once. Returns its id, or ``None`` if ``key`` was posted before.

    The transaction and its entries are queued (``plugin.appends``) and written with the
    transaction's other postings, one ``INSERT`` per table; every read here writes them first.
    ``new_key`` says the caller knows the key cannot have been posted (it names a row made in
    this transaction), so the lookup is skipped; the unique key still refuses a second posting.

    Raises:
        UnbalancedTransaction: the legs do not sum to zero, mix currencies, or are empty.
    """
    legs = [(acct, amount) for acct, amount in legs if amount.minor != 0]
    currencies = {amount.currency for _, amount in legs} | {acct.currency for acct, _ in legs}
    if not legs or len(currencies) != 1 or sum(amount.minor for _, amount in legs) != 0:
        raise UnbalancedTransaction(f"transaction {key!r} does not balance: {legs!r}")
    if not new_key and already_posted(session, shop_id, key):
        return None
    (txn_id,) = keys.new_ids(session, LedgerTransaction, 1)
    appends.append(
        session,
        LedgerTransaction,
        {"id": txn_id, "shop_id": shop_id, "key": key, "kind": kind, "memo": memo, "posted_at": db.utcnow()},
    )
    for acct, amount in legs:
        appends.append(
            session,
            LedgerEntry,
            {
                "shop_id": shop_id,
                "transaction_id": txn_id,
                "account_id": acct.id,
                "amount": amount.minor,
                "currency": amount.currency,
            },
        )
    return txn_id


def debit(acct: Account, minor: int) -> tuple[Account, Money]:
    return acct, Money(minor, acct.currency)


def credit(acct: Account, minor: int) -> tuple[Account, Money]:
    return acct, Money(-minor, acct.currency)


def balance(session: Session, acct: Account) -> int:
    """Balance in the account's normal direction (what is owed, for both sides)."""
    appends.write(session)
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == acct.id)
    )
    return int(total) if acct.kind in DEBIT_NORMAL else -int(total)


def member_balances(session: Session, shop_id: int, member_id: int, currency: str) -> dict[str, int]:
    """A distributor's balance per account kind, derived from the entries."""
    appends.write(session)
    rows = session.execute(
        select(Account.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry)  # an account without entries is a kind absent below: 0
        .where(Account.shop_id == shop_id, Account.member_id == member_id, Account.currency == currency)
        .group_by(Account.kind)
    )
    sums = {kind: int(total) for kind, total in rows}
    return {
        kind.value: (sums.get(kind, 0) if kind in DEBIT_NORMAL else -sums.get(kind, 0))
        for kind in DISTRIBUTOR_ACCOUNTS
    }


def entries_of(
    session: Session, shop_id: int, member_id: int, *, limit: int, before_id: int | None = None
) -> list[LedgerEntry]:
    """A member's entries, newest first, each with its account and transaction (page with ``before_id``)."""
    appends.write(session)
    query = (
        select(LedgerEntry)
        .join(LedgerEntry.account)
        .join(LedgerEntry.transaction)
        .options(contains_eager(LedgerEntry.account), contains_eager(LedgerEntry.transaction))
        .where(Account.shop_id == shop_id, Account.member_id == member_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return list(session.scalars(query))


def unbalanced_transactions(session: Session, shop_id: int | None = None) -> list[int]:
    """Ids of transactions whose entries do not sum to zero (should always be empty)."""
    appends.write(session)
    query = (
        select(LedgerEntry.transaction_id)
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
    )
    if shop_id is not None:
        query = query.where(LedgerEntry.shop_id == shop_id)
    return list(session.scalars(query))
