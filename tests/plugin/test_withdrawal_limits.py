"""Withdrawal limits and quotes: every refusal names its limit and what is left."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import InvalidSetting
from plugin.tax.withholding import policy
from plugin.withdrawals.limits import Caps, LimitExceeded, Limits, Usage, check, fee_of, quote

YUAN = 100


def refused(limits, amount, channel="wechat", usage=Usage()) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as info:
        check(limits, amount, channel, usage)
    return info.value


def test_the_defaults_allow_one_yuan_to_fifty_thousand_at_once():
    limits = Limits()
    check(limits, 1 * YUAN, "wechat", Usage())
    check(limits, 50_000 * YUAN, "bank", Usage(distributor_today=10**9))
    assert refused(limits, 99).limit == "minimum"
    error = refused(limits, 50_000 * YUAN + 1)
    assert (error.limit, error.allowed) == ("per_transaction", 50_000 * YUAN)
    assert error.to_dict()["code"] == "limit_exceeded" and "50000.00 CNY" in error.message


def test_the_smaller_of_the_shops_and_the_channels_cap_applies():
    limits = Limits(channel_caps={"wechat": Caps(per_transaction=20_000 * YUAN)})
    assert refused(limits, 20_000 * YUAN + 1, "wechat").allowed == 20_000 * YUAN
    check(limits, 20_000 * YUAN + 1, "alipay", Usage())


@pytest.mark.parametrize(
    ("usage", "limit", "left"),
    [
        (Usage(distributor_today=2_500 * YUAN), "daily", 500 * YUAN),
        (Usage(distributor_month=9_900 * YUAN), "monthly", 100 * YUAN),
        (Usage(channel_today=99_800 * YUAN), "channel_daily", 200 * YUAN),
        (Usage(channel_month=1_000_000 * YUAN), "channel_monthly", 0),
    ],
)
def test_daily_and_monthly_caps_per_distributor_and_per_channel(usage, limit, left):
    limits = Limits(
        caps=Caps(per_transaction=50_000 * YUAN, daily=3_000 * YUAN, monthly=10_000 * YUAN),
        channel_caps={"alipay": Caps(daily=100_000 * YUAN, monthly=1_000_000 * YUAN)},
    )
    error = refused(limits, 1_000 * YUAN, "alipay", usage)
    assert (error.limit, error.allowed) == (limit, left)
    assert f"{Decimal(left) / 100:.2f} CNY is left" in error.message
    if left >= limits.minimum:  # what is left can still be withdrawn
        check(limits, left, "alipay", usage)


def test_a_fee_is_fixed_plus_a_percentage_rounded_half_up():
    limits = Limits(fee_fixed=100, fee_percent=Decimal("0.6"))
    assert fee_of(limits, 10_000) == 100 + 60
    assert fee_of(limits, 12_345) == 100 + 74  # 74.07
    assert fee_of(limits, 12_375) == 100 + 74  # 74.25
    assert fee_of(limits, 12_425) == 100 + 75  # 74.55


def test_a_fee_that_would_take_everything_is_refused():
    assert refused(Limits(fee_fixed=200), 200).limit == "fee"


@given(st.integers(min_value=100, max_value=5_000_000), st.decimals(min_value=0, max_value=10, places=2))
def test_a_quote_always_adds_up_to_the_amount(amount, percent):
    limits = Limits(fee_percent=percent)
    tax = policy("labour_remuneration").due(0, 0, amount - fee_of(limits, amount))
    split = quote(limits, amount, tax)
    assert split.fee + split.tax + split.net == split.amount
    assert split.net.minor >= 0


def test_a_quote_shows_decimal_strings():
    assert quote(Limits(fee_fixed=100), 500_000, 63_840).as_dict() == {
        "amount": "5000.00",
        "fee": "1.00",
        "tax": "638.40",
        "net": "4360.60",
    }


@pytest.mark.parametrize(
    "settings",
    [
        {"minimum": -1},
        {"fee_fixed": 1.5},
        {"fee_percent": 0.6},
        {"fee_percent": Decimal(100)},
        {"channel_caps": {"paypal": Caps()}},
    ],
)
def test_settings_that_cannot_work_are_refused(settings):
    with pytest.raises(InvalidSetting):
        Limits(**settings)


@pytest.mark.parametrize(("amount", "channel"), [(0, "wechat"), (-5, "bank"), (1.5, "bank"), (100, "paypal")])
def test_bad_requests_are_refused_naming_the_field(amount, channel):
    with pytest.raises(InvalidSetting) as info:
        check(Limits(), amount, channel, Usage())
    assert info.value.field in ("amount", "channel")
