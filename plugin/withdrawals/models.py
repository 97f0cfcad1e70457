"""Withdrawals: a distributor's request to be paid, the identity it is paid to, the finance
approvals it collects, the payout that carries it to a gateway, and the shop's settings for all
of it. Money columns are fen; sealed columns hold Fernet tokens of ``plugin.withdrawals.keyring``."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class WithdrawalStatus(enum.StrEnum):
    REQUESTED = "requested"  # the amount moved from available to withdrawing
    VERIFIED = "verified"  # the payee's identity and account passed verification
    APPROVED = "approved"  # finance approved it (twice above the four-eyes threshold)
    PAYING = "paying"  # sent to the gateway; tax and fee posted; the outcome may still be unknown
    PAID = "paid"
    REJECTED = "rejected"  # verification or finance said no: the amount went back to available
    FAILED = "failed"  # the gateway said no: the amount went back to available


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"  # entered or changed; not checked by the provider yet
    VERIFIED = "verified"
    FAILED = "failed"  # the provider said no; ``reason`` says why


class PayoutStatus(enum.StrEnum):
    SENDING = "sending"  # about to be submitted (or the submit's answer was lost)
    PENDING = "pending"  # the gateway accepted it or did not answer clearly: ask it with ``query``
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WithdrawalSettings(Base):
    """A shop's withdrawal settings; a shop without a row has the defaults (``settings.py``)."""

    __tablename__ = "withdrawal_settings"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), primary_key=True)
    tax_policy: Mapped[str] = mapped_column(String(32), default="labour_remuneration")
    minimum: Mapped[int] = mapped_column(BigInteger, default=100)
    per_transaction: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=5_000_000)
    daily: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    monthly: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # channel → {"per_transaction": fen, "daily": fen, "monthly": fen}
    channel_caps: Mapped[dict] = mapped_column(JSON, default=dict)
    fee_fixed: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_percent: Mapped[str] = mapped_column(String(16), default="0")  # a Decimal, kept exact as text
    channels: Mapped[list] = mapped_column(JSON, default=list)  # the channels distributors may pick
    second_approval_above: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # four-eyes
    auto_approve_up_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    identity_provider: Mapped[str] = mapped_column(String(16), default="none")
    identity_provider_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    gateways: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed JSON: channel → config
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Payee(Base):
    """Who a distributor's withdrawals are paid to: a real name, an ID number and one account."""

    __tablename__ = "payee"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id"),
        Index("ix_payee_shop_person", "shop_id", "id_number_hash"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    real_name_sealed: Mapped[str] = mapped_column(Text)
    id_number_sealed: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64))  # one person across distributors, for tax
    masked_name: Mapped[str] = mapped_column(String(80))
    masked_id: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16))
    account_sealed: Mapped[str] = mapped_column(Text)
    masked_account: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=VerificationStatus.PENDING)
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(16), nullable=True)
    provider_reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Withdrawal(Base):
    __tablename__ = "withdrawal"
    __table_args__ = (
        Index("ix_withdrawal_shop_status", "shop_id", "status", "id"),
        Index("ix_withdrawal_member", "shop_id", "member_id", "requested_at"),
        Index("ix_withdrawal_person_month", "shop_id", "id_number_hash", "tax_month"),
        # a retried request (its answer lost) finds the withdrawal it made instead of making another
        UniqueConstraint("shop_id", "member_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)  # taken from available
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)  # fixed when paying starts
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=WithdrawalStatus.REQUESTED)
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The payee as it was when the request was made: a later change of account pays the next one.
    payee_id: Mapped[int] = mapped_column(BigInteger)
    masked_account: Mapped[str] = mapped_column(String(64))
    id_number_hash: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200))  # "member:<id>", or an operator's name
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the client's, optional
    approvals_needed: Mapped[int] = mapped_column(Integer, default=1)
    tax_policy: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tax_month: Mapped[str | None] = mapped_column(String(7), nullable=True)  # YYYY-MM, shop-local
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paying_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # paid/rejected/failed

    @property
    def net(self) -> int:
        return self.amount - self.fee - self.tax


class WithdrawalApproval(Base):
    """One finance user's approval; four-eyes needs two from two people other than the requester."""

    __tablename__ = "withdrawal_approval"
    __table_args__ = (UniqueConstraint("withdrawal_id", "actor"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawal.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    """A withdrawal's one transfer through a gateway. ``out_no`` is its idempotency key there:
    never reused, so an unclear answer is resolved by asking, never by sending again."""

    __tablename__ = "payout"
    __table_args__ = (Index("ix_payout_shop_status", "shop_id", "status", "next_check_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawal.id"), unique=True)
    out_no: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # the net that reaches the payee
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PayoutStatus.SENDING)
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # the gateway's words; WeChat's "wait_user_confirm package_info=…" is longer than a reason
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # submits and queries made
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
