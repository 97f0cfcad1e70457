"""Shops (tenants): creation, settings, webhook secrets, API keys and the active rule set."""

from __future__ import annotations

import functools
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from adapters.registry import PLATFORMS
from plugin import db
from plugin.audit import trail
from plugin.db import utcnow
from plugin.errors import InvalidSetting, NotFound, Unauthorized
from plugin.orders.models import Order
from plugin.shops import apikeys
from plugin.shops.models import RuleSetVersion, Shop, ShopSecret
from plugin.shops.rulesets import publish

MAX_TIER_DEPTH = 3  # the legal ceiling: commissions never reach further than 3 tiers up
ROTATION_GRACE = timedelta(hours=1)  # Shopify may keep signing with the old secret this long
MIN_SECRET_BYTES = 16  # a shorter HMAC key is guessable; the platforms' own secrets are longer
# All tiers together earn at most this share of a line (basis points of what it paid): 50 %.
DEFAULT_CEILING_BP = 5000
MAX_CEILING_BP = 10_000


@dataclass(frozen=True)
class NewShop:
    """What ``create_shop`` hands back once: the key and secret are not stored in clear."""

    shop: Shop
    api_key: str
    webhook_secret: str


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA zone names (read from the system's tzdata once per process: it walks a directory)."""
    return frozenset(zoneinfo.available_timezones())


def validate_settings(tier_depth, after_sales_days, currency) -> None:
    if (
        isinstance(tier_depth, bool)
        or not isinstance(tier_depth, int)
        or not 1 <= tier_depth <= MAX_TIER_DEPTH
    ):
        raise InvalidSetting(f"tier depth must be 1, 2 or 3 (got {tier_depth!r})", "tier_depth")
    if (
        isinstance(after_sales_days, bool)
        or not isinstance(after_sales_days, int)
        or not 0 <= after_sales_days <= 90
    ):
        raise InvalidSetting("after-sales window must be 0..90 days", "after_sales_days")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise InvalidSetting(f"currency must be an ISO-4217 code like CNY (got {currency!r})", "currency")


def create_shop(
    session: Session,
    *,
    name: str,
    platform: str,
    currency: str = "CNY",
    tier_depth: int = 2,
    after_sales_days: int = 7,
    webhook_secret: str | None = None,
    api_key: str | None = None,
    timezone: str = "Asia/Shanghai",
    commission_ceiling_bp: int = DEFAULT_CEILING_BP,
    actor: str = trail.SYSTEM,
) -> NewShop:
    """Create a tenant with its first webhook secret, API key and the default rule set (v1)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidSetting("a shop needs a name (1 to 200 characters)", "name")
    if platform not in PLATFORMS:
        raise InvalidSetting(
            f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}", "platform"
        )
    validate_settings(tier_depth, after_sales_days, currency)
    if timezone not in known_timezones():
        raise InvalidSetting(f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)", "timezone")
    if webhook_secret is not None:
        check_secret(webhook_secret)
    check_ceiling(commission_ceiling_bp)
    default_rules = rules.default_ruleset(max_tier=tier_depth)
    _check_default_fits(default_rules, tier_depth, commission_ceiling_bp)
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    shop = Shop(
        name=name.strip(),
        platform=platform,
        currency=currency,
        tier_depth=tier_depth,
        after_sales_days=after_sales_days,
        active_rule_version=0,
        timezone=timezone,
        commission_ceiling_bp=commission_ceiling_bp,
    )
    session.add(shop)
    session.flush()
    session.add(ShopSecret(shop_id=shop.id, secret=webhook_secret))
    trail.record(
        session,
        shop.id,
        "shop.created",
        "shop",
        shop.id,
        actor=actor,
        platform=platform,
        tier_depth=tier_depth,
        after_sales_days=after_sales_days,
        currency=currency,
        timezone=timezone,
        commission_ceiling_bp=commission_ceiling_bp,
    )
    publish(session, shop.id, default_rules, actor=actor, note="default rule set")
    key = apikeys.create_key(session, shop.id, "initial key", key=api_key, actor=actor)
    return NewShop(shop, key.key, webhook_secret)


def check_ceiling(basis_points) -> None:
    """The commission ceiling is a share of a line between 0.01 % and 100 %."""
    if (
        isinstance(basis_points, bool)
        or not isinstance(basis_points, int)
        or not 1 <= basis_points <= MAX_CEILING_BP
    ):
        raise InvalidSetting(
            f"the commission ceiling must be 0.01 % to 100 % of a line (got {basis_points!r} basis points)",
            "commission_ceiling",
        )


def _check_default_fits(document: dict, tier_depth: int, ceiling_bp: int) -> None:
    """A new shop starts on the default rules, which must fit its ceiling like any rule set."""
    try:
        rules.validate_ruleset(document, tier_depth, ceiling=Decimal(ceiling_bp).scaleb(-2))
    except rules.RuleSetError as err:
        problem = err.message.removeprefix(f"rule {err.rule_id!r}: {err.field}: ")
        raise InvalidSetting(
            f"a new shop starts on the default rules, which break this ceiling: {problem}",
            "commission_ceiling",
        ) from None


def check_secret(secret: str) -> None:
    """Refuse a webhook signing secret too short to resist guessing (or longer than we store)."""
    if not isinstance(secret, str) or not MIN_SECRET_BYTES <= len(secret.encode("utf-8")) <= 200:
        raise InvalidSetting(
            f"a webhook secret must be {MIN_SECRET_BYTES} to 200 bytes (the platform app's signing secret)",
            "webhook_secret",
        )


def list_shops(session: Session) -> list[Shop]:
    return list(session.scalars(select(Shop).order_by(Shop.id)))


def get_shop(session: Session, shop_id: int, *, lock: bool = False) -> Shop:
    query = select(Shop).where(Shop.id == shop_id)
    if lock:
        query = query.with_for_update()
    shop = session.scalar(query)
    if shop is None:
        raise NotFound(f"no shop {shop_id}", "shop_id")
    return shop


def authenticate(session: Session, shop_id: int, api_key: str | None) -> Shop:
    shop = get_shop(session, shop_id)
    if not apikeys.is_valid(session, shop_id, api_key):
        raise Unauthorized("missing or wrong API key for this shop")
    return shop


def secrets_of(session: Session, shop_id: int) -> list[tuple[str, datetime | None]]:
    """The shop's webhook signing secrets, newest first, each with its expiry (None: current)."""
    rows = session.scalars(
        select(ShopSecret).where(ShopSecret.shop_id == shop_id).order_by(ShopSecret.id.desc())
    )
    return [(row.secret, row.expires_at) for row in rows]


def rotate_secret(
    session: Session, shop_id: int, new_secret: str | None = None, *, actor: str = trail.SYSTEM
) -> str:
    """Add a new signing secret; the old ones stay valid for ``ROTATION_GRACE``."""
    get_shop(session, shop_id, lock=True)
    now = utcnow()
    for row in session.scalars(
        select(ShopSecret).where(ShopSecret.shop_id == shop_id, ShopSecret.expires_at.is_(None))
    ):
        row.expires_at = now + ROTATION_GRACE
    if new_secret is not None:
        check_secret(new_secret)
    new_secret = new_secret or secrets.token_urlsafe(32)
    session.add(ShopSecret(shop_id=shop_id, secret=new_secret))
    trail.record(session, shop_id, "shop.secret_rotated", "shop", shop_id, actor=actor)
    return new_secret


class CurrencyLocked(InvalidSetting):
    """The currency of a shop that has orders cannot change (field ``currency``)."""


class RulesDoNotFit(InvalidSetting):
    """The active rule set would break a new tier depth or ceiling (``version``, ``detail``)."""

    def __init__(self, message: str, field: str, *, version: int, detail: str):
        super().__init__(message, field)
        self.version, self.detail = version, detail


def update_settings(
    session: Session,
    shop_id: int,
    *,
    tier_depth: int,
    after_sales_days: int,
    timezone: str,
    currency: str,
    commission_ceiling_bp: int,
    actor: str = trail.SYSTEM,
) -> dict[str, dict]:
    """Change the shop's distribution settings in the caller's transaction; audited
    (``shop.settings_changed`` with each changed setting's ``before`` and ``after``).

    Returns the changes (setting -> {"before", "after"}); empty, and nothing audited, when every
    value is the one already set. Decisions where settings meet what already exists:

    * the tier depth and the ceiling bound the *active* rule set, so a change that the active
      rules would break is refused on that field: publish rules that fit first, then change it
      (a rule set is never rewritten behind the operator's back);
    * the currency cannot change once the shop has an order: every amount stored (orders,
      commissions, ledger balances) is in minor units of the old currency and would silently be
      read as the new one;
    * the after-sales window applies to orders completed from now on (a commission already
      pending keeps the settle date it was given) and the time zone to orders priced from now on.

    Raises:
        InvalidSetting: naming the field (``tier_depth``, ``after_sales_days``, ``timezone``,
            ``currency``, ``commission_ceiling``).
        NotFound: no such shop.
    """
    validate_settings(tier_depth, after_sales_days, currency)
    if not isinstance(timezone, str) or timezone not in known_timezones():
        raise InvalidSetting(f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)", "timezone")
    check_ceiling(commission_ceiling_bp)
    shop = get_shop(session, shop_id, lock=True)
    wanted = {
        "tier_depth": tier_depth,
        "after_sales_days": after_sales_days,
        "timezone": timezone,
        "currency": currency,
        "commission_ceiling_bp": commission_ceiling_bp,
    }
    changes = {
        name: {"before": getattr(shop, name), "after": value}
        for name, value in wanted.items()
        if getattr(shop, name) != value
    }
    if not changes:
        return changes
    if "currency" in changes and session.scalar(select(Order.id).where(Order.shop_id == shop_id).limit(1)):
        raise CurrencyLocked(
            "the currency cannot change once the shop has orders: their amounts and every balance "
            f"are kept in {shop.currency}",
            "currency",
        )
    if "tier_depth" in changes or "commission_ceiling_bp" in changes:
        _check_active_rules_fit(session, shop, tier_depth, commission_ceiling_bp)
    for name, change in changes.items():
        setattr(shop, name, change["after"])
    trail.record(session, shop_id, "shop.settings_changed", "shop", shop_id, actor=actor, **changes)
    return changes


def _check_active_rules_fit(session: Session, shop: Shop, tier_depth: int, ceiling_bp: int) -> None:
    """The active rule set must still validate under the new depth and ceiling; the error names
    the depth if the rules break it alone, else the ceiling."""
    active = active_rules(session, shop)
    if active is None:
        return
    attempts = (
        (tier_depth, shop.commission_ceiling_bp, "tier_depth"),
        (tier_depth, ceiling_bp, "commission_ceiling"),
    )
    for depth, ceiling, field in attempts:
        try:
            rules.validate_ruleset(active.document, depth, ceiling=Decimal(ceiling).scaleb(-2))
        except rules.RuleSetError as err:
            raise RulesDoNotFit(
                f"the active rules (v{active.version}) would break this: {err.message}; "
                "publish rules that fit first",
                field,
                version=active.version,
                detail=err.message,
            ) from None


def active_rules(session: Session, shop: Shop) -> RuleSetVersion:
    """The shop's active rule set version (remembered for the transaction: versions never change)."""
    known = db.memo(session, "rule_sets")
    key = (shop.id, shop.active_rule_version)
    if key not in known:
        known[key] = session.scalar(
            select(RuleSetVersion).where(
                RuleSetVersion.shop_id == shop.id, RuleSetVersion.version == shop.active_rule_version
            )
        )
    return known[key]
