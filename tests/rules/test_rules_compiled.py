"""The compiled evaluator's caches, fingerprints, operator coverage and indexes."""

import copy

from rules import (
    DEFAULT_RULESET,
    clear_caches,
    compile_cached,
    compile_ruleset,
    compiled_for,
    price_line,
    price_line_reference,
    ruleset_fingerprint,
)
from rules.compiled import LRUCache
from rules.predicates import COMPILED_OPERATORS
from rules.vocabulary import OPERATORS


def cond(name, operator, value=None):
    return {"name": name, "operator": operator, "value": value}


def rule(rule_id, priority, conditions, percent, mode="replace"):
    action = "set_rate" if mode == "replace" else "add_bonus_rate"
    return {
        "id": rule_id,
        "priority": priority,
        "mode": mode,
        "conditions": conditions,
        "actions": [{"name": action, "params": {"percent": percent}}],
    }


def test_every_business_rules_operator_is_compiled():
    assert {name: set(ops) for name, ops in OPERATORS.items()} == COMPILED_OPERATORS


def test_fingerprint_is_stable_and_content_based():
    doc = copy.deepcopy(DEFAULT_RULESET)
    reordered = {"rules": doc["rules"], "description": doc["description"], "name": doc["name"]}
    assert ruleset_fingerprint(doc) == ruleset_fingerprint(reordered)
    assert len(ruleset_fingerprint(doc)) == 64
    doc["rules"][0]["actions"][0]["params"]["percent"] = "11"
    assert ruleset_fingerprint(doc) != ruleset_fingerprint(DEFAULT_RULESET)


def test_price_line_recompiles_an_edited_document(make_facts):
    doc = copy.deepcopy(DEFAULT_RULESET)
    assert price_line(doc, make_facts(line_paid_amount=10000)).amount == 1000
    doc["rules"][0]["actions"][0]["params"]["percent"] = "12"
    assert price_line(doc, make_facts(line_paid_amount=10000)).amount == 1200
    assert compiled_for(doc) is compiled_for(copy.deepcopy(doc))


def test_version_key_cache_trusts_the_key(make_facts):
    clear_caches()
    published = copy.deepcopy(DEFAULT_RULESET)
    first = compile_cached(("shop-1", 7), published)
    assert compile_cached(("shop-1", 7), {"rules": []}) is first  # a published version never changes
    assert price_line({"rules": []}, make_facts(), version_key=("shop-1", 7)).amount == 1000
    assert compile_cached(("shop-1", 8), {"rules": []}) is not first
    assert first.fingerprint == ruleset_fingerprint(published)


def test_lru_cache_evicts_the_least_recently_used():
    cache = LRUCache(2)
    cache.get_or_build("a", lambda: 1)
    cache.get_or_build("b", lambda: 2)
    cache.get_or_build("a", lambda: 0)  # touch a
    cache.get_or_build("c", lambda: 3)
    assert list(cache.items) == ["a", "c"]


def test_rules_are_indexed_and_still_evaluated_in_order(make_facts):
    doc = {
        "rules": [
            rule("p1-low", 1, {"all": [cond("product_id", "equal_to", "p1")]}, "4"),
            rule("p2", 9, {"all": [cond("product_id", "equal_to", "p2")]}, "9"),
            rule("gold", 5, {"all": [cond("level", "equal_to", "gold")]}, "5"),
            rule("gold-2", 5, {"all": [{"all": [cond("level", "equal_to", "gold")]}]}, "1", "stack"),
            rule(
                "p1-high",
                7,
                {"all": [cond("product_id", "equal_to", "p1"), cond("tier", "equal_to", 1)]},
                "7",
            ),
            rule("tea", 6, {"all": [cond("category_tree", "contains", "TEA")]}, "6"),
            rule("tea-2", 2, {"all": [cond("category_tree", "contains", "tea")]}, "2", "stack"),
            rule(
                "any",
                3,
                {"any": [cond("product_id", "equal_to", "p1"), cond("level", "equal_to", "gold")]},
                "3",
            ),
        ]
    }
    compiled = compile_ruleset(doc)
    assert set(compiled.indexes) == {"product_id", "level", "category_tree"}
    for overrides in (
        {},
        {"tier": 2},
        {"product_id": "p2"},
        {"level": "silver", "category": "coffee"},
        {"level": "Gold", "category": None, "parent_categories": ("Tea",)},
    ):
        facts = make_facts(**overrides)
        assert compiled.price(facts) == price_line_reference(doc, facts)
    ids = [entry["rule"] for entry in compiled.price(make_facts()).explanation]
    assert ids == ["p1-high", "tea", "gold", "gold-2", "any", "tea-2", "p1-low"]


def test_tier_only_rules_are_skipped_for_other_tiers(make_facts):
    compiled = compile_ruleset(DEFAULT_RULESET)
    assert compiled.variables == ()  # tier conditions are folded per tier
    assert compiled.price(make_facts(tier=3)).explanation == []
    assert compiled.price(make_facts(tier=2, line_paid_amount=100)).amount == 5
