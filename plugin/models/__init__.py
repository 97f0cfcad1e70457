"""SQLAlchemy models. Every table carries ``shop_id``: tenant isolation today, shard key tomorrow."""

from .audit import AuditEvent
from .commissions import Attribution, Commission, CommissionStatus, MonthTally, NewBuyerClaim
from .inbox import InboxEvent, InboxStatus
from .ledger import Account, AccountKind, LedgerEntry, LedgerTransaction
from .members import Binding, Distributor, DistributorStatus, Member, MemberIdentity
from .orders import Order, OrderLine, OrderStatus, Refund, RefundLine
from .shops import Category, RuleSetVersion, Shop, ShopSecret

__all__ = [
    "Account",
    "Attribution",
    "Category",
    "MonthTally",
    "NewBuyerClaim",
    "AccountKind",
    "AuditEvent",
    "Binding",
    "Commission",
    "CommissionStatus",
    "Distributor",
    "DistributorStatus",
    "InboxEvent",
    "InboxStatus",
    "LedgerEntry",
    "LedgerTransaction",
    "Member",
    "MemberIdentity",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Refund",
    "RefundLine",
    "RuleSetVersion",
    "Shop",
    "ShopSecret",
]
