"""The ruleset a shop starts with, shipped as ``default_ruleset.json`` (package data).

Tier 1 (the buyer's direct inviter) earns 10 % of the line's paid amount and tier 2
earns 5 %. It validates for ``max_tier`` 2 and 3; a shop paying only one tier drops
``tier2-default`` (validation rejects a tier condition beyond the shop's depth).
There is deliberately no tier-3 rule: a shop configured for depth 3 adds
its own, e.g.::

    {"id": "tier3-default", "priority": 0, "mode": "replace",
     "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 3}]},
     "actions": [{"name": "set_rate", "params": {"percent": "2"}}]}
"""

from __future__ import annotations

import copy
import json
from importlib import resources


def _load() -> dict:
    text = resources.files(__package__).joinpath("default_ruleset.json").read_text(encoding="utf-8")
    return json.loads(text)


#: The default ruleset. Shared: do not mutate it; call :func:`default_ruleset` for a
#: copy to build a shop's own document from.
DEFAULT_RULESET: dict = _load()


def default_ruleset() -> dict:
    """A deep copy of :data:`DEFAULT_RULESET`, for a shop to edit."""
    return copy.deepcopy(DEFAULT_RULESET)
