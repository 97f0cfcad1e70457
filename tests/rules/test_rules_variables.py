"""The commission variables: category tree, channel, new buyer, time encodings, ladder, tags, region."""

from datetime import datetime, timedelta, timezone

import pytest

from rules import LineFacts, LineVariables, price_line, price_line_reference, validate_ruleset
from rules.variables import LINE_VARIABLES

CST = timezone(timedelta(hours=8))


def cond(name, operator, value=None):
    return {"name": name, "operator": operator, "value": value}


def one_rule(*leaves, group="all", percent="10"):
    doc = {
        "rules": [
            {
                "id": "r",
                "priority": 0,
                "mode": "replace",
                "conditions": {group: list(leaves)},
                "actions": [{"name": "set_rate", "params": {"percent": percent}}],
            }
        ]
    }
    validate_ruleset(doc, 3)
    return doc


def pays(doc, facts):
    pricing = price_line(doc, facts)
    assert pricing == price_line_reference(doc, facts)
    return pricing.amount > 0


def test_old_callers_need_no_new_fields(make_facts):
    facts = make_facts()
    assert (facts.parent_categories, facts.buyer_is_new, facts.beneficiary_month_sales) == ((), False, 0)
    assert (facts.campaign_tags, facts.region, facts.beneficiary_region) == ((), "", "")
    assert (facts.already_paid_this_order, facts.already_paid_this_month) == (0, 0)


def test_variable_values(make_facts):
    facts = make_facts(
        category="longjing",
        parent_categories=["green-tea", "tea"],
        order_time=datetime(2026, 11, 11, 1, 5, tzinfo=CST),
        campaign_tags=["Double11"],
        region="hz",
        beneficiary_region="hz",
    )
    assert isinstance(facts.parent_categories, tuple)
    variables = LineVariables(facts)
    assert variables.category_tree() == ("longjing", "green-tea", "tea")
    assert variables.order_date() == "2026-11-11"
    assert variables.order_datetime() == "2026-11-11T01:05"
    assert variables.order_date_number() == 20261111
    assert variables.order_datetime_number() == 202611110105
    assert variables.order_time_of_day() == 105
    assert variables.order_weekday() == 2  # a Wednesday
    assert variables.in_beneficiary_region() is True
    assert LineVariables(make_facts(category=None, parent_categories=("tea",))).category_tree() == ("tea",)


def test_every_variable_has_a_value_function():
    assert set(LINE_VARIABLES) == {v["name"] for v in LineVariables.get_all_variables()}
    forbidden = {"team_size", "invitee_count", "downline_count", "recruits", "member_count"}
    assert not forbidden & set(LINE_VARIABLES)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parent_categories": "tea"}, "parent_categories must be a tuple of str"),
        ({"parent_categories": ("tea", 3)}, "parent_categories must be a str"),
        ({"campaign_tags": [None]}, "campaign_tags must be a str"),
        ({"buyer_is_new": 1}, "buyer_is_new must be a bool"),
        ({"beneficiary_month_sales": 1.0}, "beneficiary_month_sales must be an int"),
        ({"beneficiary_month_sales": -1}, "beneficiary_month_sales must be >= 0"),
        ({"already_paid_this_month": -5}, "already_paid_this_month must be >= 0"),
        ({"region": None}, "region must be a str"),
    ],
)
def test_new_facts_are_checked(make_facts, overrides, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make_facts(**overrides)


def test_category_tree_matches_parents_case_insensitively(make_facts):
    doc = one_rule(cond("category_tree", "contains", "Tea"))
    assert pays(doc, make_facts(category="longjing", parent_categories=("green-tea", "tea")))
    assert pays(doc, make_facts(category="TEA"))
    assert not pays(doc, make_facts(category="coffee", parent_categories=("drinks",)))
    assert not pays(doc, make_facts(category=None))
    outside = one_rule(cond("category_tree", "does_not_contain", "tea"))
    assert pays(outside, make_facts(category="coffee"))
    assert not pays(outside, make_facts(category="x", parent_categories=("tea",)))


def test_channel_and_new_buyer(make_facts):
    doc = one_rule(cond("channel", "equal_to", "live_stream"), cond("buyer_is_new", "is_true"))
    assert pays(doc, make_facts(channel="live_stream", buyer_is_new=True))
    assert not pays(doc, make_facts(channel="live_stream", buyer_is_new=False))
    assert not pays(doc, make_facts(channel="poster", buyer_is_new=True))


@pytest.mark.parametrize(
    ("when", "paid"),
    [
        (datetime(2026, 11, 11, 0, 0, tzinfo=CST), True),
        (datetime(2026, 11, 11, 1, 59, tzinfo=CST), True),
        (datetime(2026, 11, 11, 2, 0, tzinfo=CST), False),
        (datetime(2026, 11, 10, 23, 59, tzinfo=CST), False),
    ],
)
def test_time_slot_with_datetime_number(make_facts, when, paid):
    doc = one_rule(
        cond("order_datetime_number", "greater_than_or_equal_to", 202611110000),
        cond("order_datetime_number", "less_than", 202611110200),
    )
    assert pays(doc, make_facts(order_time=when)) is paid


def test_date_range_and_daily_slot(make_facts):
    # every evening 20:00-22:00 during 2026-11-01 .. 2026-11-11 (inclusive)
    doc = one_rule(
        cond("order_date_number", "greater_than_or_equal_to", 20261101),
        cond("order_date_number", "less_than_or_equal_to", 20261111),
        cond("order_time_of_day", "greater_than_or_equal_to", 2000),
        cond("order_time_of_day", "less_than", 2200),
    )
    assert pays(doc, make_facts(order_time=datetime(2026, 11, 5, 21, 59, tzinfo=CST)))
    assert pays(doc, make_facts(order_time=datetime(2026, 11, 11, 20, 0, tzinfo=CST)))
    assert not pays(doc, make_facts(order_time=datetime(2026, 11, 12, 20, 30, tzinfo=CST)))
    assert not pays(doc, make_facts(order_time=datetime(2026, 11, 5, 22, 0, tzinfo=CST)))


def test_order_datetime_string_prefix(make_facts):
    doc = one_rule(cond("order_datetime", "starts_with", "2026-11-11T01"))
    assert pays(doc, make_facts(order_time=datetime(2026, 11, 11, 1, 30, tzinfo=CST)))
    assert not pays(doc, make_facts(order_time=datetime(2026, 11, 11, 2, 30, tzinfo=CST)))


def test_campaign_tags(make_facts):
    doc = one_rule(cond("campaign_tags", "shares_at_least_one_element_with", ["double11", "618"]))
    assert pays(doc, make_facts(campaign_tags=("members-day", "DOUBLE11")))
    assert not pays(doc, make_facts(campaign_tags=("members-day",)))
    assert not pays(doc, make_facts())
    every = one_rule(cond("campaign_tags", "contains_all", ["double11", "flash"]))
    assert pays(every, make_facts(campaign_tags=("flash", "double11", "x")))
    assert not pays(every, make_facts(campaign_tags=("flash",)))


def test_region_variables(make_facts):
    doc = one_rule(cond("in_beneficiary_region", "is_true"))
    assert pays(doc, make_facts(region="330100", beneficiary_region="330100"))
    assert not pays(doc, make_facts(region="330100", beneficiary_region="330200"))
    assert not pays(doc, make_facts(region="", beneficiary_region=""))
    fixed = one_rule(cond("region", "starts_with", "33"))
    assert pays(fixed, make_facts(region="330100"))


def test_ladder_on_month_sales(make_facts):
    doc = one_rule(cond("beneficiary_month_sales", "greater_than", 1000000))
    assert not pays(doc, make_facts(beneficiary_month_sales=1000000))
    assert pays(doc, make_facts(beneficiary_month_sales=1000001))


def test_facts_are_immutable_and_hashable(make_facts):
    facts = make_facts(parent_categories=["a"], campaign_tags=["b"])
    assert hash(facts) == hash(make_facts(parent_categories=("a",), campaign_tags=("b",)))
    assert isinstance(facts, LineFacts)
