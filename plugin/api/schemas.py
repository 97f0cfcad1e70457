"""Request and response schemas of the JSON API."""

from marshmallow import Schema, fields, validate

from plugin.db import MAX_BIGINT, MAX_INT
from plugin.members.bindings import SOURCES


def member_id(**kwargs) -> fields.Integer:
    """A member id: a JSON integer the id column can hold (anything else is a 422, never a query)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_BIGINT), **kwargs)


class MemberIn(Schema):
    platform = fields.String(required=True, validate=validate.Length(min=1, max=32))
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=128))


class MemberOut(Schema):
    member_id = fields.Integer()


class DistributorIn(Schema):
    member_id = member_id(required=True)
    level = fields.String(load_default="B", validate=validate.Length(min=1, max=16))
    invite_code = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9-]{4,64}$"))
    region = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "the region a city partner answers for (the orders' delivery city)"},
    )


class DistributorPatch(Schema):
    level = fields.String(validate=validate.Length(min=1, max=16))
    region = fields.String(allow_none=True, validate=validate.Length(min=1, max=128))


class DistributorOut(Schema):
    member_id = fields.Integer()
    level = fields.String()
    status = fields.String()
    invite_code = fields.String()
    region = fields.String(allow_none=True)


class CategoryTree(Schema):
    parents = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=256)),
        values=fields.String(allow_none=True, validate=validate.Length(min=1, max=256)),
        required=True,
        metadata={"description": "category -> parent category (null for a root); replaces the whole tree"},
    )


class CategoryTreeOut(CategoryTree):
    categories = fields.Integer(metadata={"description": "how many categories the tree holds"})


class BindingIn(Schema):
    member_id = member_id(required=True)
    invite_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    source = fields.String(load_default="invite_code", validate=validate.OneOf(SOURCES))


class BindingOut(Schema):
    member_id = fields.Integer()
    inviter_id = fields.Integer(attribute="tier1_id")
    ancestors = fields.Method("get_ancestors")
    source = fields.String()
    source_ref = fields.String()
    bound_at = fields.DateTime()

    def get_ancestors(self, binding):
        return [a for a in (binding.tier1_id, binding.tier2_id, binding.tier3_id) if a is not None]


class BalancesOut(Schema):
    member_id = fields.Integer()
    currency = fields.String()
    balances = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "integer minor units per account"},
    )


class LedgerQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_BIGINT))


class LedgerEntryOut(Schema):
    id = fields.Integer()
    transaction_id = fields.Integer()
    kind = fields.String(attribute="transaction.kind")
    account = fields.String(attribute="account.kind")
    amount = fields.Integer(metadata={"description": "minor units; positive debits the account"})
    currency = fields.String()
    posted_at = fields.DateTime(attribute="transaction.posted_at")
    memo = fields.String(attribute="transaction.memo")


class CommissionOut(Schema):
    id = fields.Integer()
    line = fields.String(attribute="line.external_id")
    beneficiary_id = fields.Integer()
    tier = fields.Integer()
    amount = fields.Integer()
    reversed = fields.Integer()
    status = fields.String()
    rule_version = fields.Integer()
    settle_after = fields.DateTime(allow_none=True)
    explanation = fields.List(fields.Dict())


class OrderLineOut(Schema):
    external_id = fields.String()
    product_id = fields.String()
    sku = fields.String(allow_none=True)
    quantity = fields.Integer()
    paid_amount = fields.Integer()
    refunded_amount = fields.Integer()


class OrderOut(Schema):
    external_id = fields.String()
    status = fields.String()
    currency = fields.String()
    buyer_member_id = fields.Integer(allow_none=True)
    paid_total = fields.Integer()
    refunded_total = fields.Integer()
    paid_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineOut))
    commissions = fields.List(fields.Nested(CommissionOut))


class RuleSetDraftIn(Schema):
    document = fields.Dict(required=True, metadata={"description": "a business-rules rule set document"})


class RuleSetPublishIn(RuleSetDraftIn):
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class RuleSetRollbackIn(Schema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_INT))
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class RuleSetVersionOut(Schema):
    version = fields.Integer()
    published_by = fields.String()
    published_at = fields.DateTime()
    note = fields.String()
    active = fields.Boolean()


class RuleSetVersionFullOut(RuleSetVersionOut):
    document = fields.Dict()


class ValidationOut(Schema):
    valid = fields.Boolean()


class SimulateIn(RuleSetDraftIn):
    start = fields.AwareDateTime(data_key="from", required=True)
    end = fields.AwareDateTime(data_key="to", required=True)


class SimulationOut(Schema):
    fingerprint = fields.String()
    lines = fields.Integer()
    actual = fields.Integer()
    simulated = fields.Integer()
    difference = fields.Integer()
    changed = fields.Integer()
    groups = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))
