"""What a shop allows a withdrawal to be, and what one costs: the limits a request must pass and
the quote it shows (amount − fee − tax = what reaches the distributor). Pure: the request flow
reads the usage (what the distributor and the channel already took today and this month) from
the ledger under lock and passes it in.

Each refusal is a ``LimitExceeded`` naming its limit (``limit``), the most that is still allowed
(``allowed``) and a sentence a distributor understands.

Defaults: a minimum of ¥1.00, a per-transaction cap of ¥50,000, no daily or monthly caps and no
fee. A channel's own limits (``channel_caps``: WeChat Pay's and Alipay's per-transfer, daily and
monthly limits depend on the merchant's contract with them) are the shop's to set; the smaller
of the shop's and the channel's cap applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adapters.money import Money, mul_div_half_up
from plugin.errors import InvalidSetting

CHANNELS = ("wechat", "alipay", "bank")
DEFAULT_MINIMUM = 100  # ¥1.00
DEFAULT_PER_TRANSACTION = 5_000_000  # ¥50,000


class LimitExceeded(InvalidSetting):
    """A withdrawal a limit refuses (HTTP 422): ``limit`` names it, ``allowed`` is the most left."""

    code = "limit_exceeded"
    status = 422

    def __init__(self, message: str, limit: str, allowed: int):
        super().__init__(message, "amount")
        self.limit, self.allowed = limit, allowed

    def to_dict(self) -> dict:
        return {**super().to_dict(), "limit": self.limit, "allowed": self.allowed}


@dataclass(frozen=True)
class Caps:
    """Caps on what may be withdrawn (fen); None: no cap."""

    per_transaction: int | None = None
    daily: int | None = None
    monthly: int | None = None


@dataclass(frozen=True)
class Limits:
    currency: str = "CNY"
    minimum: int = DEFAULT_MINIMUM
    caps: Caps = Caps(per_transaction=DEFAULT_PER_TRANSACTION)  # per distributor
    channel_caps: dict[str, Caps] = field(default_factory=dict)  # per channel, the whole shop
    fee_fixed: int = 0  # fen per withdrawal
    fee_percent: Decimal = Decimal(0)  # of the amount, rounded half up to the fen

    def __post_init__(self):
        for name, value in (("minimum", self.minimum), ("fee_fixed", self.fee_fixed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidSetting(f"{name} must be a whole, non-negative number of fen", name)
        if not isinstance(self.fee_percent, Decimal) or not Decimal(0) <= self.fee_percent < 100:
            raise InvalidSetting("the fee must be a Decimal percentage from 0 to under 100", "fee_percent")
        for channel in self.channel_caps:
            if channel not in CHANNELS:
                raise InvalidSetting(
                    f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}", "channel_caps"
                )


@dataclass(frozen=True)
class Usage:
    """What was already withdrawn (requested and not rejected or failed) in the same periods."""

    distributor_today: int = 0
    distributor_month: int = 0
    channel_today: int = 0
    channel_month: int = 0


@dataclass(frozen=True)
class Quote:
    amount: Money  # taken from ``available``
    fee: Money
    tax: Money
    net: Money  # what reaches the distributor

    def as_dict(self) -> dict:
        return {name: str(getattr(self, name).to_decimal()) for name in ("amount", "fee", "tax", "net")}


def fee_of(limits: Limits, amount: int) -> int:
    """The fee on ``amount``: the fixed part plus the percentage, rounded half up to the fen."""
    numerator, denominator = limits.fee_percent.as_integer_ratio()
    return limits.fee_fixed + mul_div_half_up(amount, numerator, denominator * 100)


def check(limits: Limits, amount: int, channel: str, usage: Usage) -> None:
    """Refuse ``amount`` if any limit forbids it (``LimitExceeded`` naming the first one)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidSetting("the amount must be a positive whole number of fen", "amount")
    if channel not in CHANNELS:
        raise InvalidSetting(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}", "channel")

    def money(fen: int) -> str:
        return f"{Money(fen, limits.currency).to_decimal()} {limits.currency}"

    if amount < limits.minimum:
        raise LimitExceeded(f"the least you can withdraw is {money(limits.minimum)}", "minimum", 0)
    channel_caps = limits.channel_caps.get(channel, Caps())
    per_transaction = _smaller(limits.caps.per_transaction, channel_caps.per_transaction)
    rules = (
        ("per_transaction", per_transaction, 0, "at once"),
        ("daily", limits.caps.daily, usage.distributor_today, "a day"),
        ("monthly", limits.caps.monthly, usage.distributor_month, "a month"),
        ("channel_daily", channel_caps.daily, usage.channel_today, f"a day through {channel}"),
        ("channel_monthly", channel_caps.monthly, usage.channel_month, f"a month through {channel}"),
    )
    for name, cap, used, period in rules:
        if cap is not None and used + amount > cap:
            left = max(0, cap - used)
            raise LimitExceeded(
                f"at most {money(cap)} can be withdrawn {period}; {money(left)} is left", name, left
            )
    if fee_of(limits, amount) >= amount:
        raise LimitExceeded(f"the fee would take the whole {money(amount)}", "fee", 0)


def quote(limits: Limits, amount: int, tax: int) -> Quote:
    """The split of ``amount``: the fee, the tax the shop's policy withholds, and the net."""
    fee = fee_of(limits, amount)
    net = amount - fee - tax
    if net < 0:
        raise LimitExceeded("the fee and the tax would take more than the amount", "fee", 0)
    return Quote(*(Money(value, limits.currency) for value in (amount, fee, tax, net)))


def _smaller(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
