from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.db import Base, BigID, UTCDateTime, utcnow
from plugin.keys import numbered


class AccountKind(enum.StrEnum):
    # A distributor's accounts (money the shop owes them, credit-normal) ...
    PENDING = "pending"
    AVAILABLE = "available"
    WITHDRAWING = "withdrawing"
    PAID = "paid"
    # ... and what they owe the shop after a clawback found too little available (debit-normal).
    ARREARS = "arrears"
    # The shop's own accounts (member_id 0).
    COMMISSION_EXPENSE = "commission_expense"
    TAX_WITHHELD = "tax_withheld"
    PAYOUT_CLEARING = "payout_clearing"  # paid out to a gateway, its outcome not known yet
    WITHDRAWAL_FEES = "withdrawal_fees"  # the fees the shop keeps from withdrawals


DEBIT_NORMAL = {AccountKind.ARREARS, AccountKind.COMMISSION_EXPENSE}
SHOP_OWNER = 0


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "kind", "currency"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    member_id: Mapped[int] = mapped_column(BigInteger)  # SHOP_OWNER for the shop's accounts
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))


@numbered
class LedgerTransaction(Base):
    """A balanced group of entries. ``key`` makes posting idempotent per shop."""

    __tablename__ = "ledger_transaction"
    __table_args__ = (
        UniqueConstraint("shop_id", "key"),
        Index("ix_ledger_transaction_shop_posted", "shop_id", "posted_at"),  # the figures sweep's days
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(String(500), default="")
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(
        lazy="selectin", order_by="LedgerEntry.id", back_populates="transaction"
    )


class LedgerEntry(Base):
    """One leg: ``amount`` > 0 debits the account, < 0 credits it. Append-only."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transaction.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries", lazy="raise")
    account: Mapped[Account] = relationship(lazy="raise")
