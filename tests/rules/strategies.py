"""Hypothesis strategies: random valid rule documents over every variable, and random facts.

Values come from small pools (with case variants and a few unicode oddities) so that
conditions often match, rules often share index keys, and case-insensitive operators
meet the characters where ``str.lower`` is surprising.
"""

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from rules import LineFacts, RiskFacts
from rules.risk_facts import RISK_VARIABLES
from rules.variables import LINE_VARIABLES
from rules.vocabulary import OPERATORS

WORDS = ["", "a", "A", "ab", "tea", "Tea", "TEA", "p1", "p-1", "gold", "Gold", "ß", "SS", "İ", "i̇", "staff"]
REGEXES = ["^a", "a$", "t.a", "[0-9]", "(?i)tea", "", "ß", "^$", "g|s"]
ZONES = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]

words = st.sampled_from(WORDS)
times = st.builds(
    lambda day, minute, zone: datetime.combine(day, datetime.min.time(), zone) + timedelta(minutes=minute),
    st.dates(date(2026, 10, 30), date(2026, 11, 13)),
    st.sampled_from([0, 1, 59, 60, 119, 120, 121, 600, 1439]),
    st.sampled_from(ZONES),
)


def _dates_from(time):
    return time.strftime("%Y-%m-%d"), time.strftime("%Y-%m-%dT%H:%M")


def numeric_values(name):
    """Condition values for a numeric variable (integers; encoded dates must be real dates)."""
    if name == "tier":
        return None  # tier leaves are built by ``tier_leaf``
    if name == "order_date_number":
        return times.map(lambda t: int(t.strftime("%Y%m%d")))
    if name == "order_datetime_number":
        return times.map(lambda t: int(t.strftime("%Y%m%d%H%M")))
    if name == "order_time_of_day":
        return st.sampled_from([0, 1, 59, 100, 159, 200, 1000, 2359, 2400])
    if name == "order_weekday":
        return st.integers(-1, 7)
    if name == "order_hour":
        return st.integers(-1, 24)
    if name == "inviter_refund_rate":
        return st.integers(-1, 101)
    return st.sampled_from([0, 1, 2, 3, 5, 10, 20, 99, 100, 101, 9999, 10000, 10001, 1000000])


def tier_leaf():
    valid = {
        "equal_to": [1, 2, 3],
        "greater_than_or_equal_to": [1, 2, 3],
        "less_than_or_equal_to": [1, 2, 3],
        "greater_than": [0, 1, 2],
        "less_than": [2, 3, 4],
    }
    return st.sampled_from([(op, value) for op, values in valid.items() for value in values]).map(
        lambda pair: {"name": "tier", "operator": pair[0], "value": pair[1]}
    )


def leaf(table, name):
    if name == "tier":
        return tier_leaf()
    field_type = table[name].field_type
    operators = sorted(OPERATORS[field_type])

    def build(operator):
        input_type = OPERATORS[field_type][operator]
        if input_type == "numeric":
            values = numeric_values(name)
        elif input_type == "none":
            values = st.none()
        elif input_type == "select_multiple":
            values = st.lists(words, min_size=1, max_size=3)
        elif operator == "matches_regex":
            values = st.sampled_from(REGEXES)
        elif name in ("order_date", "order_datetime"):
            values = times.map(_dates_from).map(lambda pair: pair[0] if name == "order_date" else pair[1])
            values = values | st.sampled_from(["2026-11", "2026-11-11", "T00", ":00", "2026-11-11T01"])
        else:
            values = words
        return values.map(lambda value: {"name": name, "operator": operator, "value": value})

    return st.sampled_from(operators).flatmap(build)


def conditions(table):
    leaves = st.sampled_from(sorted(table)).flatmap(lambda name: leaf(table, name))
    groups = lambda children: st.builds(  # noqa: E731
        lambda key, items: {key: items},
        st.sampled_from(["all", "any"]),
        st.lists(children, min_size=1, max_size=3),
    )
    tree = st.recursive(leaves, groups, max_leaves=6)
    return tree.map(lambda node: node if ("all" in node or "any" in node) else {"all": [node]})


percents = st.sampled_from(["0", "1", "2.5", "3.3333", "10", "12.25", "100", 0, 7, 100])
amounts = st.sampled_from([0, 1, 7, 250, "300", 5000, 123456])
_REPLACE_ACTIONS = [
    "set_rate",
    "set_fixed_per_unit",
    "set_fixed_per_line",
    "cap_per_line",
    "cap_per_order",
    "cap_per_month",
]
_STACK_ACTIONS = [
    "add_bonus_rate",
    "set_fixed_per_unit",
    "set_fixed_per_line",
    "cap_per_line",
    "cap_per_order",
    "cap_per_month",
]


def _action(name):
    if name in ("set_rate", "add_bonus_rate"):
        return percents.map(lambda value: {"name": name, "params": {"percent": value}})
    return amounts.map(lambda value: {"name": name, "params": {"amount": value}})


@st.composite
def commission_rule(draw, index):
    mode = draw(st.sampled_from(["replace", "stack"]))
    if draw(st.integers(0, 7)) == 0:
        actions = [{"name": "exclude"} if draw(st.booleans()) else {"name": "exclude", "params": {}}]
    else:
        names = draw(
            st.lists(
                st.sampled_from(_REPLACE_ACTIONS if mode == "replace" else _STACK_ACTIONS),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        actions = [draw(_action(name)) for name in names]
    return {
        "id": f"r{index}",
        "priority": draw(st.integers(-2, 2)),
        "mode": mode,
        "conditions": draw(conditions(LINE_VARIABLES)),
        "actions": actions,
    }


@st.composite
def commission_documents(draw, max_rules=8):
    count = draw(st.integers(0, max_rules))
    return {"name": "random", "rules": [draw(commission_rule(index)) for index in range(count)]}


line_facts = st.builds(
    LineFacts,
    tier=st.integers(1, 3),
    level=words,
    product_id=words,
    sku=st.none() | words,
    category=st.none() | words,
    channel=words,
    quantity=st.sampled_from([0, 1, 2, 3, 10, 20]),
    line_paid_amount=st.sampled_from([0, 1, 99, 100, 1001, 9999, 10000, 10001, 12345, 1000000]),
    order_paid_amount=st.sampled_from([0, 100, 10000, 10001, 1000000]),
    currency=st.just("CNY"),
    order_time=times,
    parent_categories=st.lists(words, max_size=3).map(tuple),
    buyer_is_new=st.booleans(),
    beneficiary_month_sales=st.sampled_from([0, 999999, 1000000, 1000001]),
    campaign_tags=st.lists(words, max_size=3).map(tuple),
    region=words,
    beneficiary_region=words,
    already_paid_this_order=st.sampled_from([0, 100, 5000, 10**6]),
    already_paid_this_month=st.sampled_from([0, 100, 5000, 10**6]),
    already_paid_this_line=st.sampled_from([0, 100, 5000]),
    line_ceiling=st.none() | st.sampled_from([0, 50, 5000, 500000]),
)


@st.composite
def risk_rule(draw, index):
    return {
        "id": f"k{index}",
        "priority": draw(st.integers(-2, 2)),
        "conditions": draw(conditions(RISK_VARIABLES)),
        "actions": [
            {
                "name": draw(st.sampled_from(["review", "block"])),
                "params": {
                    "reason": draw(st.sampled_from(["same_device", "burst", "new_account", "refunds"]))
                },
            }
        ],
    }


@st.composite
def risk_documents(draw, max_rules=8):
    count = draw(st.integers(0, max_rules))
    return {"rules": [draw(risk_rule(index)) for index in range(count)]}


refund_rates = st.integers(0, 100) | st.decimals(0, 100, places=7, allow_nan=False, allow_infinity=False)
small_counts = st.sampled_from([0, 1, 2, 3, 5, 10, 20, 99, 100, 101])
risk_facts = st.builds(
    RiskFacts,
    account_age_days=small_counts,
    self_purchase=st.booleans(),
    same_device_as_inviter=st.booleans(),
    same_ip_as_inviter=st.booleans(),
    same_address_as_inviter=st.booleans(),
    orders_from_ip_last_hour=small_counts,
    orders_from_ip_last_day=small_counts,
    orders_from_device_last_hour=small_counts,
    orders_from_device_last_day=small_counts,
    accounts_per_device=small_counts,
    inviter_refund_rate=refund_rates,
    blacklist_hit=st.booleans(),
    order_paid_amount=st.sampled_from([0, 100, 10000, 10001, 1000000]),
    channel=words,
)


KEYS = ["a", "b", "A"]


@st.composite
def keyed_rule(draw, index):
    """A rule required to match ``X equal_to key`` (or ``category_tree contains key``), so it is indexed."""
    rule = draw(commission_rule(index))
    name = draw(st.sampled_from(["product_id", "level", "channel", "category_tree", "sku"]))
    operator = "contains" if name == "category_tree" else "equal_to"
    key = {"name": name, "operator": operator, "value": draw(st.sampled_from(KEYS))}
    extra = [rule["conditions"]] if draw(st.booleans()) else []
    rule["conditions"] = {"all": [key, *extra]} if draw(st.booleans()) else {"all": [{"all": [*extra, key]}]}
    return rule


@st.composite
def indexed_documents(draw):
    """Documents where most rules are keyed, on several variables, with tied and scrambled priorities."""
    count = draw(st.integers(2, 12))
    return {
        "rules": [
            draw(keyed_rule(index) if draw(st.integers(0, 3)) else commission_rule(index))
            for index in range(count)
        ]
    }


keyed_words = st.sampled_from(KEYS + ["", "c"])
keyed_facts = st.builds(
    lambda facts, product, level, channel, sku, category: dataclasses.replace(
        facts, product_id=product, level=level, channel=channel, sku=sku, category=category
    ),
    line_facts,
    keyed_words,
    keyed_words,
    keyed_words,
    keyed_words,
    keyed_words,
)
