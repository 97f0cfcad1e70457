"""A shop's category tree: where the ``category_tree`` rule variable gets a line's parent categories.

The platforms send a product's own category (Shopify: ``product_type``); the tree above it is the
shop's, set through the API as a map of category -> parent. Each category's ancestors are
computed when the tree is replaced, so pricing reads them with one query per order. Names are
matched exactly as the platform sends them (the rule operators themselves ignore case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin import db
from plugin.audit import trail
from plugin.errors import InvalidSetting
from plugin.shops.models import Category

MAX_CATEGORIES = 10_000
MAX_NAME = 256  # the order line's category column
MAX_DEPTH = 16


def _check_name(name, path: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidSetting(f"a category name must be 1 to {MAX_NAME} characters", path)
    return name


def _ancestors(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Each category's ancestors, nearest first; refuses cycles and trees deeper than MAX_DEPTH."""
    found: dict[str, list[str]] = {}
    for name in parents:
        chain, current = [], parents.get(name)
        while current is not None:
            if current == name or current in chain:
                raise InvalidSetting(f"the tree has a cycle through {current!r}", f"parents.{current}")
            chain.append(current)
            if len(chain) > MAX_DEPTH:
                raise InvalidSetting(
                    f"category {name!r} is more than {MAX_DEPTH} levels deep", f"parents.{name}"
                )
            current = parents.get(current)
        found[name] = chain
    return found


def replace_tree(session: Session, shop_id: int, parents, *, actor: str = trail.SYSTEM) -> int:
    """Make ``parents`` (category -> parent category, or None for a root) the shop's whole tree.

    A parent that is not a key is a root. Returns how many categories the tree holds.

    Raises:
        InvalidSetting: not a map of names, a name too long or empty, a cycle, too deep or too big.
    """
    if not isinstance(parents, Mapping):
        raise InvalidSetting("parents must be an object of category -> parent", "parents")
    if len(parents) > MAX_CATEGORIES:
        raise InvalidSetting(f"a tree may hold at most {MAX_CATEGORIES} categories", "parents")
    for name, parent in parents.items():
        _check_name(name, "parents")
        if parent is not None:
            _check_name(parent, f"parents.{name}")
    tree = dict(parents)
    for parent in {p for p in parents.values() if p is not None} - set(parents):
        tree[parent] = None  # a parent named only as a parent is a root
    found = _ancestors(tree)
    session.execute(delete(Category).where(Category.shop_id == shop_id))
    db.memo(session, "categories").clear()
    session.add_all(
        Category(shop_id=shop_id, name=name, parent=tree[name], ancestors=found[name])
        for name in sorted(tree)
    )
    trail.record(session, shop_id, "categories.replaced", "shop", shop_id, actor=actor, categories=len(tree))
    return len(tree)


def parents_of(session: Session, shop_id: int) -> dict[str, str | None]:
    """The shop's tree as category -> parent (roots map to None)."""
    rows = session.execute(select(Category.name, Category.parent).where(Category.shop_id == shop_id))
    return dict(sorted(rows.all()))


def ancestors(session: Session, shop_id: int, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Ancestors (nearest first) of each of ``names`` found in the shop's tree."""
    known = db.memo(session, "categories")
    names = sorted(set(names))
    missing = [name for name in names if (shop_id, name) not in known]
    if missing:
        for name in missing:
            known[(shop_id, name)] = None  # not in the tree
        rows = session.execute(
            select(Category.name, Category.ancestors).where(
                Category.shop_id == shop_id, Category.name.in_(missing)
            )
        )
        for name, chain in rows:
            known[(shop_id, name)] = tuple(chain)
    return {name: known[(shop_id, name)] for name in names if known[(shop_id, name)] is not None}
