"""The ruleset a shop starts with, shipped as ``default_ruleset.json`` (package data).

Tier 1 (the buyer's direct inviter) earns 10 % of the line's paid amount and tier 2
earns 5 %. There is deliberately no tier-3 rule: a shop configured for depth 3 adds
its own, e.g.::

    {"id": "tier3-default", "priority": 0, "mode": "replace",
     "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 3}]},
     "actions": [{"name": "set_rate", "params": {"percent": "2"}}]}

:data:`DEFAULT_RULESET` validates for ``max_tier`` 2 and 3 only, because validation
rejects a tier condition beyond the shop's depth; :func:`default_ruleset` gives a
copy fitted to any depth (for depth 1 it drops ``tier2-default``).
"""

from __future__ import annotations

import copy
import json
from importlib import resources

from .errors import RuleSetError
from .facts import MAX_TIERS
from .validate import validate_ruleset


def _load() -> dict:
    text = resources.files(__package__).joinpath("default_ruleset.json").read_text(encoding="utf-8")
    return json.loads(text)


#: The default ruleset. Shared: do not mutate it; call :func:`default_ruleset` for a
#: copy to build or store a shop's own document.
DEFAULT_RULESET: dict = _load()


def _fits(rule: dict, max_tier: int) -> bool:
    try:
        validate_ruleset({"rules": [rule]}, max_tier)
    except RuleSetError:
        return False
    return True


def default_ruleset(max_tier: int = MAX_TIERS) -> dict:
    """A deep copy of :data:`DEFAULT_RULESET` that validates for a shop paying ``max_tier`` tiers.

    Args:
        max_tier: The shop's depth, 1..3. Default rules for deeper tiers are left out.

    Returns:
        A new document, safe to modify and store.

    Raises:
        RuleSetError: ``max_tier`` is not an int from 1 to 3.
    """
    validate_ruleset({"rules": []}, max_tier)
    doc = copy.deepcopy(DEFAULT_RULESET)
    doc["rules"] = [rule for rule in doc["rules"] if _fits(rule, max_tier)]
    return doc
