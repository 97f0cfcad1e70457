"""Published commission rule sets: immutable versions, publishing, rollback.

A draft is any document; it becomes a version only by ``publish``, which validates it
against the shop's tier depth, stores it under the next version number, makes it active and
writes the audit event (who, when, why). Versions are never edited; rolling back is
publishing an earlier version's document again, as a new version.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules
from plugin.audit import trail
from plugin.errors import FenxiaoError, NotFound
from plugin.shops.models import RuleSetVersion, Shop


class InvalidRuleSet(FenxiaoError):
    code = "invalid_ruleset"
    status = 422


def ceiling_percent(shop: Shop) -> Decimal:
    """The shop's ceiling on all tiers' commission from one line, in percent of what it paid."""
    return Decimal(shop.commission_ceiling_bp).scaleb(-2)


def check_draft(shop: Shop, document) -> None:
    """Validate a draft for this shop's depth and ceiling, as publishing would.

    Raises:
        InvalidRuleSet: naming the rule and field that break a guard.
    """
    try:
        rules.validate_ruleset(document, max_tier=shop.tier_depth, ceiling=ceiling_percent(shop))
    except rules.RuleSetError as err:
        raise InvalidRuleSet(err.message, err.field) from None


def versions(session: Session, shop_id: int) -> list[RuleSetVersion]:
    return list(
        session.scalars(
            select(RuleSetVersion).where(RuleSetVersion.shop_id == shop_id).order_by(RuleSetVersion.version)
        )
    )


def version(session: Session, shop_id: int, number: int) -> RuleSetVersion:
    found = session.scalar(
        select(RuleSetVersion).where(RuleSetVersion.shop_id == shop_id, RuleSetVersion.version == number)
    )
    if found is None:
        raise NotFound(f"no rule set version {number}", "version")
    return found


def publish(session: Session, shop_id: int, document, *, actor: str, note: str = "") -> RuleSetVersion:
    """Validate ``document`` and make it the shop's active rules, as a new version."""
    shop = session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update())  # one publisher at a time
    if shop is None:
        raise NotFound(f"no shop {shop_id}", "shop_id")
    check_draft(shop, document)
    number = (
        session.scalar(select(func.max(RuleSetVersion.version)).where(RuleSetVersion.shop_id == shop_id)) or 0
    ) + 1
    row = RuleSetVersion(
        shop_id=shop_id,
        version=number,
        document=copy.deepcopy(document),
        published_by=actor,
        note=note,
        fingerprint=rules.ruleset_fingerprint(document),
    )
    session.add(row)
    shop.active_rule_version = number
    trail.record(
        session,
        shop_id,
        "rules.published",
        "rule_set",
        number,
        actor=actor,
        note=note,
        previous_version=number - 1,
        fingerprint=row.fingerprint,
    )
    return row


def rollback(
    session: Session, shop_id: int, to_version: int, *, actor: str, note: str = ""
) -> RuleSetVersion:
    """Publish an earlier version's document again (a new version; history stays intact)."""
    earlier = version(session, shop_id, to_version)
    return publish(session, shop_id, earlier.document, actor=actor, note=note or f"rollback to v{to_version}")


#: Ready-made commission documents an operator can start a draft from (``rules/templates/``,
#: package data; the same documents as ``examples/rules/``, the risk example aside).
TEMPLATES = resources.files("rules").joinpath("templates")


def templates() -> dict[str, dict]:
    """Every template by name (the file's stem), sorted by name."""
    found = sorted((e for e in TEMPLATES.iterdir() if e.name.endswith(".json")), key=lambda e: e.name)
    return {entry.name.removesuffix(".json"): json.loads(entry.read_text("utf-8")) for entry in found}


def template(name: str) -> dict:
    """One template's document (a fresh copy).

    Raises:
        NotFound: there is no template of that name.
    """
    known = templates()
    if name not in known:
        raise NotFound(f"no rule template {name!r}", "template")
    return known[name]


def draft_error(shop: Shop, document) -> rules.RuleSetError | None:
    """The first problem publishing ``document`` would refuse for this shop (None if it is valid).

    Unlike :func:`check_draft` this keeps the whole :class:`rules.RuleSetError`, with the
    offending rule's id, so a form can mark the rule and the field.
    """
    try:
        rules.validate_ruleset(document, max_tier=shop.tier_depth, ceiling=ceiling_percent(shop))
    except rules.RuleSetError as err:
        return err
    return None
