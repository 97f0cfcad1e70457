"""The commission rule variables over one :class:`rules.facts.LineFacts`.

Each variable's type decides its operators (business-rules' own). Time variables are
read in the order time's own timezone: the caller passes shop-local time. Ranges of
dates and time slots use the numeric encodings, because business-rules has no
ordering operators on strings: ``order_datetime_number`` is ``YYYYMMDDHHMM``, so
"Double 11, 00:00 to 02:00" is ``>= 202611110000`` and ``< 202611110200``.

There is deliberately no variable counting members, invitees or a team: commissions
are based on sales only (see :data:`RECRUITING_NAMES`).
"""

from __future__ import annotations

import re

from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    select_multiple_rule_variable,
    select_rule_variable,
    string_rule_variable,
)

from .vocabulary import variable, variable_table

#: Names a commission condition may never use, even though none of them is a variable:
#: paying for recruiting (head counts) instead of sales is the mark of a pyramid scheme.
RECRUITING_NAMES = frozenset(
    {
        "team_size",
        "team_count",
        "team_members",
        "invitee_count",
        "invitees",
        "invite_count",
        "direct_invites",
        "downline_count",
        "downline_size",
        "downlines",
        "recruits",
        "recruit_count",
        "member_count",
        "members",
        "new_members",
        "referral_count",
        "referrals",
        "subordinate_count",
        "headcount",
        "fans_count",
    }
)
#: Fragments that mark a name as recruiting-based even if it is not in the list above
#: (compared with case, ``_`` and ``-`` ignored: ``TeamSize`` is ``team_size``).
RECRUITING_FRAGMENTS = (
    "recruit",
    "invitee",
    "downline",
    "headcount",
    "teamsize",
    "teamcount",
    "teammember",
    "membercount",
    "invitecount",
    "referralcount",
    "subordinate",
)


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_SQUASHED_NAMES = frozenset(_squash(name) for name in RECRUITING_NAMES)


def is_recruiting_name(name: str) -> bool:
    """Whether a condition's variable name is about recruiting (head counts) rather than sales."""
    squashed = _squash(name)
    return squashed in _SQUASHED_NAMES or any(fragment in squashed for fragment in RECRUITING_FRAGMENTS)


def _category_tree(facts) -> tuple[str, ...]:
    own = (facts.category,) if facts.category else ()
    return own + facts.parent_categories


def _date_number(facts) -> int:
    time = facts.order_time
    return time.year * 10000 + time.month * 100 + time.day


def _datetime_number(facts) -> int:
    time = facts.order_time
    return ((time.year * 100 + time.month) * 100 + time.day) * 10000 + time.hour * 100 + time.minute


def _in_beneficiary_region(facts) -> bool:
    return bool(facts.beneficiary_region) and facts.region == facts.beneficiary_region


class LineVariables(BaseVariables):
    """The commission rule variables (business-rules ``BaseVariables``) over one line's facts."""

    def __init__(self, facts):
        self.facts = facts

    tier = variable(numeric_rule_variable, "Tier (1 = direct inviter)", "tier")
    level = variable(string_rule_variable, "Beneficiary distributor level", "level")
    product_id = variable(string_rule_variable, "Product id", "product_id")
    sku = variable(string_rule_variable, "SKU", lambda f: f.sku or "")
    category = variable(string_rule_variable, "Category", lambda f: f.category or "")
    category_tree = variable(select_rule_variable, "Category or any parent category", _category_tree)
    channel = variable(string_rule_variable, "Sales channel", "channel")
    quantity = variable(numeric_rule_variable, "Quantity", "quantity")
    line_paid_amount = variable(numeric_rule_variable, "Line paid amount (minor units)", "line_paid_amount")
    order_paid_amount = variable(
        numeric_rule_variable, "Order paid amount (minor units)", "order_paid_amount"
    )
    buyer_is_new = variable(boolean_rule_variable, "Buyer is a new customer", "buyer_is_new")
    order_weekday = variable(
        numeric_rule_variable, "Order weekday (0 = Monday, shop time)", lambda f: f.order_time.weekday()
    )
    order_hour = variable(numeric_rule_variable, "Order hour (0-23, shop time)", lambda f: f.order_time.hour)
    order_time_of_day = variable(
        numeric_rule_variable,
        "Order time of day (HHMM, shop time)",
        lambda f: f.order_time.hour * 100 + f.order_time.minute,
    )
    order_date = variable(
        string_rule_variable, "Order date (YYYY-MM-DD, shop time)", lambda f: f.order_time.date().isoformat()
    )
    order_date_number = variable(numeric_rule_variable, "Order date (YYYYMMDD, shop time)", _date_number)
    order_datetime = variable(
        string_rule_variable,
        "Order date and time (YYYY-MM-DDTHH:MM, shop time)",
        lambda f: f.order_time.isoformat(timespec="minutes")[:16],
    )
    order_datetime_number = variable(
        numeric_rule_variable, "Order date and time (YYYYMMDDHHMM, shop time)", _datetime_number
    )
    beneficiary_month_sales = variable(
        numeric_rule_variable,
        "Beneficiary's direct sales this month before this line (minor units)",
        "beneficiary_month_sales",
    )
    campaign_tags = variable(select_multiple_rule_variable, "Campaign tags", "campaign_tags")
    region = variable(string_rule_variable, "Delivery region", "region")
    beneficiary_region = variable(string_rule_variable, "Beneficiary's own region", "beneficiary_region")
    in_beneficiary_region = variable(
        boolean_rule_variable, "Delivery region is the beneficiary's region", _in_beneficiary_region
    )


#: Variable name -> (field_type name, value function), for validation and compilation.
LINE_VARIABLES = variable_table(LineVariables)
