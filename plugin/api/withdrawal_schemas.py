"""Request and response schemas of the distributor-facing withdrawal API.

Every amount is a decimal string in the shop's currency ("123.45"): in requests a JSON number is
refused (a float cannot hold every amount exactly), in answers the string has exactly the
currency's decimal places.
"""

from marshmallow import Schema, fields, validate

from plugin.db import MAX_BIGINT
from plugin.withdrawals.limits import CHANNELS

# digits, then at most three decimals (the currency's own places are checked on parsing): no
# sign, exponent, spaces, NaN or infinity ever reach the parser.
DECIMAL = validate.Regexp(r"^[0-9]{1,15}(\.[0-9]{1,3})?$", error="not a decimal amount such as 123.45")


def money(description: str = "", **kwargs) -> fields.String:
    """An amount in an answer: a decimal string with the currency's decimal places."""
    text = f"{description} (a decimal string)" if description else "a decimal string"
    return fields.String(metadata={"description": text, "example": "123.45"}, **kwargs)


class AmountQuery(Schema):
    amount = fields.String(
        load_default=None,
        validate=DECIMAL,
        metadata={"description": "quote this amount: its fee, tax and what reaches the distributor"},
    )


class WalletBalances(Schema):
    pending = money("commission still in its after-sales period")
    available = money("settled commission that can be withdrawn")
    withdrawing = money("held by withdrawals under way")
    paid = money("paid out so far")
    arrears = money("owed back after refunds; repaid before anything is withdrawn")


class LimitLeft(Schema):
    cap = money("the cap")
    left = money("what the cap still allows in the period")


class WalletLimits(Schema):
    channel = fields.String(metadata={"description": "the channel the caps are those of (the payee's)"})
    minimum = money("the least one withdrawal may be")
    per_transaction = money("the most one withdrawal may be; null: no cap", allow_none=True)
    daily = fields.Nested(LimitLeft, allow_none=True, metadata={"description": "the distributor's, today"})
    monthly = fields.Nested(
        LimitLeft, allow_none=True, metadata={"description": "the distributor's, this month"}
    )
    channel_daily = fields.Nested(
        LimitLeft, allow_none=True, metadata={"description": "the shop's through the channel, today"}
    )
    channel_monthly = fields.Nested(
        LimitLeft, allow_none=True, metadata={"description": "the shop's through the channel, this month"}
    )


class WalletFee(Schema):
    fixed = money("charged on every withdrawal")
    percent = fields.String(
        metadata={"description": "percent of the amount, a decimal string", "example": "0.6"}
    )


class PayeeOut(Schema):
    masked_name = fields.String()
    masked_id = fields.String(metadata={"description": "the ID number with all but a few characters masked"})
    channel = fields.String()
    masked_account = fields.String()
    status = fields.String(metadata={"description": "pending, verified or failed"})
    reason_code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why the verification failed"})


class QuoteOut(Schema):
    amount = money("taken from available")
    fee = money()
    tax = money("withheld if it were sent now")
    net = money("what reaches the distributor")


class WalletOut(Schema):
    member_id = fields.Integer()
    currency = fields.String()
    balances = fields.Nested(WalletBalances)
    withdrawable = money("available less what arrears claim")
    limits = fields.Nested(WalletLimits)
    fee = fields.Nested(WalletFee)
    channels = fields.List(fields.String(), metadata={"description": "the channels the shop pays through"})
    payee = fields.Nested(PayeeOut, allow_none=True)
    quote = fields.Nested(QuoteOut, allow_none=True, metadata={"description": "for ?amount=; else null"})


class PayeeIn(Schema):
    real_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    id_number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the 18-character resident ID number; never answered back in full"},
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    account = fields.String(
        required=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "WeChat openid, Alipay account or bank account number"},
    )


class WithdrawalIn(Schema):
    amount = fields.String(required=True, validate=DECIMAL, metadata={"example": "123.45"})
    request_id = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[\x21-\x7e]{1,64}$", error="1 to 64 printable ASCII characters"),
        metadata={
            "description": "the client's id of this request: sent again (its answer lost), the "
            "first withdrawal is answered with 200 instead of a second being made"
        },
    )


class ProgressStep(Schema):
    step = fields.String(
        metadata={"description": "requested, verified, approved, paying, paid; rejected or failed"}
    )
    at = fields.DateTime(allow_none=True)
    done = fields.Boolean()
    reason_code = fields.String(allow_none=True, metadata={"description": "rejected or failed steps only"})
    reason = fields.String(allow_none=True, metadata={"description": "rejected or failed steps only"})


class Approvals(Schema):
    needed = fields.Integer()
    given = fields.Integer()


class WithdrawalOut(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    currency = fields.String()
    amount = money("taken from available")
    fee = money()
    tax = money("withheld; fixed when paying starts (0 before)")
    net = money("what reaches the distributor")
    channel = fields.String()
    masked_account = fields.String()
    status = fields.String(
        metadata={"description": "requested, verified, approved, paying, paid, rejected, failed"}
    )
    reason_code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    progress = fields.List(fields.Nested(ProgressStep))
    approvals = fields.Nested(Approvals)
    waits_for = fields.Integer(
        allow_none=True,
        metadata={
            "description": "approved only: the same person's withdrawal whose payout is not answered "
            "yet; this one is sent once it is, because its tax depends on whether that one was paid"
        },
    )


class WithdrawalQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_BIGINT))


class NoticeQuery(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only the notices not read yet"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NoticeOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "e.g. withdrawal.paid, withdrawal.failed"})
    subject_type = fields.String()
    subject_id = fields.String()
    message = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NoticesReadIn(Schema):
    up_to_id = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_BIGINT),
        metadata={"description": "mark every notice up to this id read"},
    )


class NoticesReadOut(Schema):
    marked = fields.Integer(metadata={"description": "how many notices this call marked read"})
