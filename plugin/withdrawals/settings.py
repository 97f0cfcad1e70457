"""A shop's withdrawal settings: read as the domain's values, changed only validated and audited.

Defaults (a shop without a row): withdrawals through WeChat Pay and Alipay, a ¥1.00 minimum, a
¥50,000 cap per withdrawal, no daily or monthly caps, no fee, China's labour-remuneration
withholding for CNY shops (no withholding otherwise), one finance approval for every withdrawal
(no four-eyes threshold, no auto-approval) and no outside identity check.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.errors import InvalidSetting
from plugin.shops.models import Shop
from plugin.tax import withholding
from plugin.withdrawals.limits import CHANNELS, Caps, Limits
from plugin.withdrawals.models import WithdrawalSettings

DEFAULT_CHANNELS = ["wechat", "alipay"]
IDENTITY_PROVIDERS = ("none", "http")
EDITABLE = (
    "tax_policy",
    "minimum",
    "per_transaction",
    "daily",
    "monthly",
    "channel_caps",
    "fee_fixed",
    "fee_percent",
    "channels",
    "second_approval_above",
    "auto_approve_up_to",
    "identity_provider",
    "identity_provider_url",
)


@dataclass(frozen=True)
class Policy:
    """What the withdrawal steps need of a shop's settings."""

    limits: Limits
    tax: withholding.TaxPolicy
    channels: tuple[str, ...]
    second_approval_above: int | None
    auto_approve_up_to: int | None
    identity_provider: str
    identity_provider_url: str | None

    def approvals_needed(self, amount: int) -> int:
        above = self.second_approval_above
        return 2 if above is not None and amount > above else 1

    def auto_approves(self, amount: int) -> bool:
        """Small withdrawals approve themselves when the shop enabled it (never under four-eyes)."""
        up_to = self.auto_approve_up_to
        return up_to is not None and amount <= up_to and self.approvals_needed(amount) == 1


def row_of(session: Session, shop: Shop, *, create: bool = False) -> WithdrawalSettings:
    row = session.get(WithdrawalSettings, shop.id)
    if row is None:
        row = WithdrawalSettings(
            shop_id=shop.id,
            tax_policy="labour_remuneration" if shop.currency == "CNY" else "off",
            minimum=100,
            per_transaction=5_000_000,
            channel_caps={},
            fee_fixed=0,
            fee_percent="0",
            channels=list(DEFAULT_CHANNELS),
            identity_provider="none",
        )
        if create:
            session.add(row)
    return row


def policy_of(session: Session, shop: Shop) -> Policy:
    return _policy(shop, row_of(session, shop))


def update(session: Session, shop: Shop, actor: str, **changes) -> Policy:
    """Change settings (any of ``EDITABLE``); validated whole before anything is written, and
    audited as ``withdrawal.settings_changed`` with each change's before and after.

    Raises:
        InvalidSetting: an unknown setting or a value the domain refuses, naming it.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidSetting(f"unknown withdrawal setting {unknown[0]!r}", unknown[0])
    row = row_of(session, shop, create=True)
    before = {name: getattr(row, name) for name in EDITABLE}
    after = {**before, **changes}
    candidate = WithdrawalSettings(**after)
    checked = _policy(shop, candidate)  # raises before anything changes
    changed = {name: [before[name], after[name]] for name in EDITABLE if before[name] != after[name]}
    for name in changed:
        setattr(row, name, after[name])
    if changed:
        trail.record(session, shop.id, "withdrawal.settings_changed", "shop", shop.id, actor=actor, **changed)
    return checked


def _policy(shop: Shop, row: WithdrawalSettings) -> Policy:
    tax = withholding.policy(row.tax_policy)
    tax.check_currency(shop.currency)
    try:
        fee_percent = Decimal(str(row.fee_percent))
    except InvalidOperation:
        raise InvalidSetting(f"the fee percentage {row.fee_percent!r} is no number", "fee_percent") from None
    for name in ("per_transaction", "daily", "monthly", "second_approval_above", "auto_approve_up_to"):
        _optional_fen(getattr(row, name), name)
    channel_caps = {}
    for channel, caps in (row.channel_caps or {}).items():
        if not isinstance(caps, dict) or set(caps) - {"per_transaction", "daily", "monthly"}:
            raise InvalidSetting(
                f"the caps of {channel!r} must name per_transaction, daily or monthly", "channel_caps"
            )
        for name, value in caps.items():
            _optional_fen(value, f"channel_caps.{channel}.{name}")
        channel_caps[channel] = Caps(**caps)
    limits = Limits(
        currency=shop.currency,
        minimum=row.minimum,
        caps=Caps(row.per_transaction, row.daily, row.monthly),
        channel_caps=channel_caps,
        fee_fixed=row.fee_fixed,
        fee_percent=fee_percent,
    )
    channels = tuple(row.channels or ())
    if not channels or not set(channels) <= set(CHANNELS) or len(set(channels)) != len(channels):
        raise InvalidSetting(f"channels must be some of {', '.join(CHANNELS)}, each once", "channels")
    if row.identity_provider not in IDENTITY_PROVIDERS:
        raise InvalidSetting(
            f"unknown identity provider {row.identity_provider!r}; known: {', '.join(IDENTITY_PROVIDERS)}",
            "identity_provider",
        )
    url = row.identity_provider_url
    if row.identity_provider == "http" and not (url or "").startswith(("https://", "http://")):
        raise InvalidSetting("the http identity provider needs its https:// address", "identity_provider_url")
    return Policy(
        limits=limits,
        tax=tax,
        channels=channels,
        second_approval_above=row.second_approval_above,
        auto_approve_up_to=row.auto_approve_up_to,
        identity_provider=row.identity_provider,
        identity_provider_url=url,
    )


def _optional_fen(value, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidSetting(f"{name} must be empty or a whole, non-negative number of fen", name)
